#!/usr/bin/env bash
# bench/collect.sh: a full-fleet 'custos collect --source intune' against the
# simulator ('custos sim'), rate-limited and with injected 429/503, compared
# with the floor the rate limit allows: Graph requests made ÷ rate limit,
# where a $batch counts as the requests it carries (bench/graphreqs).
#
#   bench/collect.sh                       20,000 devices at 200 requests/s,
#                                          exit 1 if a target fails
#   BENCH_DEVICES=5000 bench/collect.sh    a smaller fleet (same targets)
#   BENCH_FAULTS= bench/collect.sh         no injected faults (diagnosis)
#
# Environment:
#   BENCH_DEVICES      fleet size (default 20000)
#   BENCH_RATE         requests/s of the simulator's rate limit, and of the
#                      client's (default 200)
#   BENCH_FAULTS       simulator fault spec (default '429=0.025,503=0.025':
#                      5 % in all; see 'custos sim --help')
#   BENCH_SEED         fleet and fault seed (default 1)
#   BENCH_RETRY_AFTER_OMIT  simulator --retry-after-omit: fraction of 429 and
#                      503 sent without Retry-After (default 0; diagnosis)
#   BENCH_BURST        client --burst (default 20: well inside the
#                      simulator's bucket of one second's worth)
#   BENCH_CONCURRENCY  client --concurrency, devices in parallel (default 16)
#   BENCH_NO_FAIL      1: report failed targets but exit 0
#   BENCH_TMPDIR       where the case goes (default $TMPDIR, else /tmp);
#                      20,000 devices need about 1 GiB
#   BENCH_KEEP         1: keep the work directory instead of removing it
#
# The report (Markdown) goes to stdout, progress to stderr. Exit status: 0
# all targets met (or BENCH_NO_FAIL=1), 1 a target failed, 2 the benchmark
# could not run. See docs/performance.md for what is measured and why.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
devices=${BENCH_DEVICES:-20000}
rate=${BENCH_RATE:-200}
faults=${BENCH_FAULTS-429=0.025,503=0.025}
seed=${BENCH_SEED:-1}
omit=${BENCH_RETRY_AFTER_OMIT:-0}
burst=${BENCH_BURST:-20}
concurrency=${BENCH_CONCURRENCY:-16}

# Targets (issue: collection performance).
ratio_max=1.15 # wall / (Graph requests made ÷ rate limit)
rss_max=256    # MiB, peak RSS of custos collect

# The simulator's demo credentials (collect/mdmsim DemoClientSecret; the
# tenant and client id are read from 'custos sim --json').
secret=mdmsim-demo-secret-not-for-production

# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

for v in devices rate burst concurrency seed; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v=${!v}: want a positive number"
done
need_tools go awk grep sed wc

new_workdir
sim_pid=
cleanup() {
	if [[ -n $sim_pid ]]; then
		kill "$sim_pid" 2>/dev/null || true
		wait "$sim_pid" 2>/dev/null || true
	fi
	cleanup_work
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say "work directory $work; load average $load_start"
say "building custos"
(cd "$repo" && go build -o "$work/custos" ./cmd/custos) || die "build failed"
custos=$work/custos

# --- simulator ------------------------------------------------------------

say "starting the simulator: $devices devices, $rate requests/s, faults '${faults:-none}'"
sim_args=(sim --listen 127.0.0.1:0 --devices "$devices" --seed "$seed" --rate-limit "$rate" --json --no-progress)
[[ -n $faults ]] && sim_args+=(--faults "$faults")
[[ $omit != 0 ]] && sim_args+=(--retry-after-omit "$omit")
"$custos" "${sim_args[@]}" >"$work/sim.json" 2>"$work/sim.log" &
sim_pid=$!

# The JSON is printed once the listener is up; wait for its closing brace.
for ((i = 0; i < 100; i++)); do
	grep -q '^}' "$work/sim.json" 2>/dev/null && break
	kill -0 "$sim_pid" 2>/dev/null || {
		cat "$work/sim.log" >&2
		die "the simulator exited"
	}
	sleep 0.1
done
field() { sed -n "s/^  \"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" "$work/sim.json"; }
url=$(field url)
tenant=$(field tenant)
client_id=$(field client_id)
[[ -n $url && -n $tenant && -n $client_id ]] || {
	cat "$work/sim.json" "$work/sim.log" >&2
	die "cannot read the simulator's URL, tenant and client id"
}
say "simulator at $url"

# --- collection -----------------------------------------------------------

say "collecting (the floor is about $((devices * 2 / rate)) s or more)"
set +e
CUSTOS_INTUNE_CLIENT_SECRET=$secret /usr/bin/time -f '%e %M %U %S' -o "$work/time" \
	"$custos" collect --case "$work/case" --case-id BENCH-1 --source intune --all \
	--tenant "$tenant" --client-id "$client_id" --graph-url "$url" --login-url "$url" \
	--scope https://graph.microsoft.com/.default \
	--rate-limit "$rate" --burst "$burst" --concurrency "$concurrency" \
	--quiet --json >"$work/collect.json" 2>"$work/collect.log"
code=$?
set -e
# 3: completed with gaps (the fleet has personally owned devices, whose app
# inventory Intune does not report): still a complete collection.
if [[ $code != 0 && $code != 3 ]]; then
	cat "$work/time" "$work/collect.log" >&2 || true
	die "custos collect failed (exit $code)"
fi
# GNU time puts "Command exited with non-zero status 3" first.
read -r wall rss_k user sys < <(tail -1 "$work/time")
[[ $wall =~ ^[0-9.]+$ && $rss_k =~ ^[0-9]+$ ]] || die "cannot read $work/time: $(cat "$work/time")"

shopt -s nullglob
stage=("$work"/case/staging/*)
((${#stage[@]} == 1)) || die "want one acquisition under $work/case/staging, found ${#stage[@]}"
stage=${stage[0]}
reqlog=$stage/raw/intune/requests.ndjson
[[ -f $reqlog && -f $stage/records/devices.ndjson ]] || die "no requests.ndjson or devices.ndjson in $stage"

lines() { wc -l <"$1" | tr -d ' '; }
counts=$(go run "$repo/bench/graphreqs" "$stage") || die "cannot count the requests in $stage"
[[ $counts =~ ^requests=[0-9]+\ http=[0-9]+\ batches=[0-9]+\ s200=[0-9]+\ s429=[0-9]+\ s503=[0-9]+\ other=-?[0-9]+$ ]] ||
	die "graphreqs printed: $counts"
eval "$counts"
n200=$s200 n429=$s429 n503=$s503 nother=$other
collected=$(lines "$stage/records/devices.ndjson")
gaps=0
[[ -f $stage/records/gaps.ndjson ]] && gaps=$(lines "$stage/records/gaps.ndjson")
gaps_scope=0
[[ -f $stage/records/gaps.ndjson ]] && gaps_scope=$(grep -c '"reason":"personal_device_scope"' "$stage/records/gaps.ndjson" || true)

calc() { awk "BEGIN { $1 }"; }
floor=$(calc "printf \"%.1f\", $requests / $rate")
ratio=$(calc "printf \"%.3f\", $wall / ($requests / $rate)")
rss=$(calc "printf \"%.1f\", $rss_k / 1024")
cpu=$(calc "printf \"%.1f\", $user + $sys")
achieved=$(calc "printf \"%.1f\", $requests / $wall")

# --- report ---------------------------------------------------------------


commit=$(commit_line "$repo")

cat <<EOF
# custos collect benchmark

- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $commit
- machine: $(machine_line)
- load average at start: $load_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)
- simulator: \`custos sim --devices $devices --seed $seed --rate-limit $rate --faults '${faults}'$([[ $omit != 0 ]] && echo " --retry-after-omit $omit")\`
- client: \`custos collect --source intune --all --rate-limit $rate --burst $burst --concurrency $concurrency\` (exit $code)
- one run; the simulator runs on the same machine

| measure | value |
|---|---:|
| Graph requests made (a \$batch counts its items) | $requests |
| of which 200 / 429 / 503 / other | $n200 / $n429 / $n503 / $nother |
| HTTP requests (requests.ndjson lines), of which \$batch | $http, $batches |
| floor: Graph requests ÷ $rate/s | $floor s |
| wall time | $wall s |
| achieved rate | $achieved requests/s |
| CPU (user+sys) | $cpu s |
| devices collected / in the fleet | $collected / $devices |
| gap records (of which personal-device app scope) | $gaps ($gaps_scope) |
| peak RSS | $rss MiB |

| target | measured | limit | result |
|---|---:|---:|---|
EOF
check "wall / floor" "$ratio" "≤ $ratio_max" "$(okif "$ratio" "$ratio_max")"
if ((collected == devices)); then ok=ok; else ok=no; fi
check "devices lost" "$((devices - collected))" "0" "$ok"
check "peak RSS" "$rss MiB" "≤ $rss_max MiB" "$(okif "$rss" "$rss_max")"

if [[ $failed == 1 ]]; then
	say "a target failed"
	[[ ${BENCH_NO_FAIL:-0} == 1 ]] || exit 1
fi
exit 0
