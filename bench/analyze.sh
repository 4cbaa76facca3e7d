#!/usr/bin/env bash
# bench/analyze.sh: 'custos analyze' over a generated fleet case, against
# issue 6's targets: 100,000 devices, 5,000,000 app records and 5,000,000
# events analysed with every built-in playbook and Amnesty's four bundles
# in 30 s or less on 2 cores, peak RSS 1 GiB or less.
#
#   bench/analyze.sh                        100,000 devices, exit 1 if a target fails
#   BENCH_DEVICES=10000 bench/analyze.sh    a tenth (targets scaled by the same)
#
# Environment:
#   BENCH_DEVICES  devices (default 100000), each with 50 apps and 50 events
#   BENCH_RUNS     analyses of the same case (default 2); the report lists
#                  each, and checks the fastest wall time and the largest RSS
#   BENCH_NO_FAIL  1: report failed targets but exit 0
#   BENCH_TMPDIR   where the case goes (default $TMPDIR, else /tmp); needs
#                  about 40 KiB per device
#   BENCH_KEEP     1: keep the work directory
#
# The report (Markdown) goes to stdout, progress to stderr. Exit status: 0
# targets met (or BENCH_NO_FAIL=1), 1 a target failed, 2 the benchmark could
# not run. See docs/performance.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
devices=${BENCH_DEVICES:-100000}
runs=${BENCH_RUNS:-2}

# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

[[ $devices =~ ^[1-9][0-9]*$ ]] || die "BENCH_DEVICES=$devices: want a positive number"
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS=$runs: want a positive number"
need_tools go awk

# Targets, scaled to the fleet generated.
wall_max=$(awk -v d="$devices" 'BEGIN { printf "%.2f", 30 * d / 100000 }')
rss_max=1024 # MiB, at every size

new_workdir
trap cleanup_work EXIT
trap 'exit 130' INT TERM

say "work directory $work"
(cd "$repo" && go build -o "$work/custos" ./cmd/custos && go build -o "$work/genfleet" ./bench/genfleet) ||
	die "build failed"
custos=$work/custos
"$custos" keygen --out "$work/key" --comment bench@custos.invalid >"$work/allowed_signers" 2>/dev/null ||
	die "custos keygen failed"

case_dir=$work/case
say "generating $devices devices, $((devices * 50)) apps, $((devices * 50)) events"
/usr/bin/time -f '%e' -o "$work/gen.time" "$work/genfleet" -case "$case_dir" -devices "$devices" -apps 50 -events 50 ||
	die "genfleet failed"
cp "$work/allowed_signers" "$case_dir/allowed_signers"
say "sealing"
"$custos" seal --case "$case_dir" --key "$work/key" --quiet || die "custos seal failed"
archive=$(ls "$case_dir"/evidence/*.tar.zst)

best_wall="" max_rss=0 runs_line=""
for run in $(seq "$runs"); do
	say "analysis $run of $runs"
	/usr/bin/time -f '%e %M' -o "$work/analyze.time" \
		"$custos" analyze --case "$case_dir" --iocs "$repo/third_party/iocs" --quiet --no-progress ||
		die "custos analyze failed"
	read -r wall rss_kib <"$work/analyze.time"
	rss=$((rss_kib / 1024))
	runs_line+="${runs_line:+, }$wall s ($rss MiB)"
	if [[ -z $best_wall ]] || le "$wall" "$best_wall"; then best_wall=$wall; fi
	if ((rss > max_rss)); then max_rss=$rss; fi
done
findings=$(awk '/"playbook":/ { n++ } END { print n + 0 }' "$case_dir/analysis/findings.json")

cat <<REPORT
# custos analyze benchmark

- machine: $(machine_line)
- commit: $(commit_line "$repo")
- fleet: $devices devices, $((devices * 50)) app records, $((devices * 50)) events (bench/genfleet); archive $(du -h "$archive" | cut -f1), generated in $(cat "$work/gen.time") s
- analysis: every built-in playbook, Amnesty's four bundles; $findings findings; best of $runs runs
- each run: $runs_line

| target | measured | limit | result |
|---|---:|---:|---|
REPORT
check "wall time (s)" "$best_wall" "≤ $wall_max" "$(okif "$best_wall" "$wall_max")"
check "peak RSS (MiB)" "$max_rss" "≤ $rss_max" "$(okif "$max_rss" "$rss_max")"

if ((failed)) && [[ ${BENCH_NO_FAIL:-0} != 1 ]]; then
	exit 1
fi
