# monitoring deployment checks (issue 5): registered with CTest, label "deploy".
#
# deploy/prometheus/qtriage-alerts.yaml (alerting rules) with its promtool
# unit tests, and deploy/grafana/qtriage-dashboard.json, checked by
# tests/deploy/monitoring_test.py:
#   monitoring_alert_rules     promtool check rules + promtool test rules, and
#                              every alert's labels, annotations and test cases
#   monitoring_dashboard       the dashboard's JSON, panel ids, gridPos,
#                              descriptions, targets, variables
#   monitoring_metrics_exist   every metric and label the alerts and panels use
#                              is on the /metrics of a real daemon (qtriage-sim
#                              and qtriage run on 127.0.0.1, stopped after)
# promtool comes with the Debian package prometheus (scripts/install-deps.sh).
set(_qtriage_monitoring_test ${CMAKE_CURRENT_LIST_DIR}/monitoring_test.py)
foreach(_check alert_rules:rules dashboard:dashboard metrics_exist:metrics)
  string(REPLACE ":" ";" _pair ${_check})
  list(GET _pair 0 _name)
  list(GET _pair 1 _what)
  add_test(NAME monitoring_${_name}
    COMMAND python3 ${_qtriage_monitoring_test} ${PROJECT_SOURCE_DIR}
      $<TARGET_FILE:qtriage> $<TARGET_FILE:qtriage-sim> ${_what})
  set_tests_properties(monitoring_${_name} PROPERTIES LABELS deploy TIMEOUT 180)
endforeach()
