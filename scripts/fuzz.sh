#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang into build/fuzz and runs
# each one, one after the other, for SECONDS_PER_TARGET seconds (default 20)
# from a scratch copy of its seed corpus (fuzz/corpus/<target>/): new corpus
# files never land in the repo. Exits 1 on any crash, leak, timeout, out of
# memory or sanitizer report; the failing input is kept in
# build/fuzz/findings/<target>/. See docs/fuzzing.md.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]
# Environment:
#   QTRIAGE_FUZZ_TARGETS  targets to run (default: all four), space separated
#   QTRIAGE_FUZZ_ARGS     extra libFuzzer flags, e.g. "-jobs=2 -workers=2"
#   QTRIAGE_FUZZ_WORK     a folder to keep the grown corpora in across runs
#                         (default: a temporary folder, removed at the end)
#   QTRIAGE_FUZZ_BUILD_JOBS  parallel compile jobs (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=${1:-20}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
  exit 2
fi
targets=(${QTRIAGE_FUZZ_TARGETS:-fuzz_condition_parser fuzz_rule_file_reader fuzz_rule_engine fuzz_message_decoder})
read -r -a extra_args <<<"${QTRIAGE_FUZZ_ARGS:-}"
build_dir=$root/build/fuzz

bash scripts/install-deps.sh

# ---- build -----------------------------------------------------------------
started=$SECONDS
if [[ ! -f $build_dir/build.ninja ]]; then
  launcher=()
  if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S fuzz -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
fi
cmake --build "$build_dir" -j "${QTRIAGE_FUZZ_BUILD_JOBS:-2}" --target "${targets[@]}"
echo "fuzz: built ${targets[*]} in $((SECONDS - started)) s"

# ---- run -------------------------------------------------------------------
if [[ -n ${QTRIAGE_FUZZ_WORK:-} ]]; then
  work=$QTRIAGE_FUZZ_WORK
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/qtriage-fuzz.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi

# Sanitizer reports end the run with a stack; a UBSan finding aborts (it is
# built with -fno-sanitize-recover=all). Settings given by the caller win.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for target in "${targets[@]}"; do
  corpus=$work/$target/corpus
  findings=$build_dir/findings/$target
  log=$build_dir/logs/$target.log
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  rm -f "$findings"/* "$work/$target"/fuzz-*.log
  cp -R "fuzz/corpus/$target/." "$corpus/"

  args=(-max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$findings/")
  dict=fuzz/$target.dict
  [[ -f $dict ]] && args+=(-dict="$root/$dict")

  echo "fuzz: $target for ${seconds} s"
  rc=0
  # From the work folder: with -jobs, libFuzzer writes fuzz-N.log where it runs.
  (cd "$work/$target" && "$build_dir/$target" "${args[@]}" "${extra_args[@]}" corpus) \
    >"$log" 2>&1 || rc=$?
  for job_log in "$work/$target"/fuzz-*.log; do
    [[ -f $job_log ]] && { echo "---- $(basename "$job_log")"; cat "$job_log"; } >>"$log"
  done

  if [[ $rc -ne 0 ]] || grep -Eq '^==[0-9]+==(ERROR|WARNING: MemorySanitizer)|runtime error:|^SUMMARY: |ERROR: libFuzzer' "$log" \
      || compgen -G "$findings/*" >/dev/null; then
    failed+=("$target")
    echo "fuzz: $target FAILED (exit $rc); log: $log; inputs: $findings/" >&2
    tail -60 "$log" >&2
    ls -l "$findings" >&2
  else
    # Summed over the jobs when run with -jobs.
    execs=$(awk '/stat::number_of_executed_units:/ {n += $2} END {print n + 0}' "$log")
    rate=$(awk '/stat::average_exec_per_sec:/ {n += $2} END {print n + 0}' "$log")
    cov=$(grep -Eo 'DONE[[:space:]]+cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 | sed -E 's/^DONE[[:space:]]+//' || true)
    echo "fuzz: $target ok: ${execs:-?} runs, ${rate:-?} exec/s, ${cov:-}"
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds} s without a finding"
