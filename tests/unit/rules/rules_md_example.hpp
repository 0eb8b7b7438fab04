#pragma once
// The example rule file of ../shared/spec/rules.md ("Files"), as written there.

namespace qtriage::rules::test_support {

inline constexpr const char* rules_md_example = R"yaml(- list: executive_mailboxes
  items: [ceo@example.com, cfo@example.com]

- list: credential_threats
  items: [CredentialHarvester, BEC, Malware]

- macro: fully_authenticated
  condition: spf = pass and dkim = pass and dmarc = pass

- rule: purge-delivered-credential-phish
  desc: Delivered mail that was later judged malicious is purged from mailboxes.
  condition: >
    disposition in (MALICIOUS, MALICIOUS-BEC)
    and not quarantined
    and threat_categories intersects credential_threats
  exceptions:
    - name: executives-are-reviewed-by-hand
      condition: any(recipients, _ in executive_mailboxes)
  action: move RecoverableItemsPurges
  tags: [remediation]

- rule: release-authenticated-internal-bulk
  condition: >
    quarantined and disposition = BULK and fully_authenticated
    and from_domain in (example.com, example.org)
  action: release
  mode: audit            # this rule only records what it would do
)yaml";

}  // namespace qtriage::rules::test_support
