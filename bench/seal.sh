#!/usr/bin/env bash
# bench/seal.sh: 'custos seal' and 'custos verify' against the standard-tool
# baseline, on the same generated acquisition, in the same run.
#
#   bench/seal.sh                      2 GiB acquisition, exit 1 if a target fails
#   BENCH_SIZE=1GiB bench/seal.sh      another size
#   BENCH_STREAM=1 bench/seal.sh       also verify a 200 MiB and an 8 GiB archive
#                                      and compare verify peak RSS (streaming)
#
# Environment:
#   BENCH_SIZE     size of the generated acquisition (default 2GiB)
#   BENCH_SEED     generator seed (default 1)
#   BENCH_RUNS     rounds of the four measurements, interleaved (default 3);
#                  the report gives the fastest wall time and the largest RSS
#   BENCH_STREAM   1: also run the streaming check
#   BENCH_SMALL    small archive of the streaming check (default 200MiB)
#   BENCH_LARGE    large archive of the streaming check (default 8GiB)
#   BENCH_NO_FAIL  1: report failed targets but exit 0
#   BENCH_TMPDIR   where generated data goes (default $TMPDIR, else /tmp);
#                  needs about 2.5 x BENCH_SIZE free, plus 1.3 x BENCH_LARGE
#                  with BENCH_STREAM=1
#   BENCH_KEEP     1: keep the work directory instead of removing it
#
# The report (Markdown) goes to stdout, progress to stderr. Exit status: 0
# all targets met (or BENCH_NO_FAIL=1), 1 a target failed, 2 the benchmark
# could not run. See docs/performance.md for what is measured and why.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${BENCH_SIZE:-2GiB}
seed=${BENCH_SEED:-1}
runs=${BENCH_RUNS:-3}
small=${BENCH_SMALL:-200MiB}
large=${BENCH_LARGE:-8GiB}

# Targets (issue: seal/verify performance).
seal_wall_max=0.50    # custos seal wall / standard seal wall
seal_rss_max=96       # MiB
size_ratio_max=1.02   # custos archive / standard archive
verify_wall_max=0.25  # custos verify wall / standard verify wall
verify_rss_max=64     # MiB, for every archive size
stream_rss_slack=1.25 # "the same RSS": large <= max(small x 1.25, small + 8 MiB)

# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

[[ $runs =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS=$runs: want a positive number"
need_tools go tar zstd sha256sum find awk

new_workdir
cleanup() {
	cleanup_work
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say "work directory $work; load average $load_start"
say "building custos and gentree"
(cd "$repo" && go build -o "$work/custos" ./cmd/custos && go build -o "$work/gentree" ./bench/gentree) ||
	die "build failed"
custos=$work/custos

# The standard pipelines spend most of their time in sha256sum, whose speed
# varies a lot between builds (with or without SHA instructions): report it.
sha_s=$({ /usr/bin/time -f '%e' sh -c 'head -c 268435456 /dev/zero | sha256sum >/dev/null'; } 2>&1 | tail -1)
sha_rate=$(awk -v t="$sha_s" 'BEGIN { printf "%.0f", 256 / (t > 0 ? t : 0.01) }')
say "sha256sum: $sha_rate MiB/s"

# One signing key for every case of the run.
"$custos" keygen --out "$work/key" --comment bench@custos.invalid >"$work/allowed_signers" 2>/dev/null ||
	die "custos keygen failed"

# Per step NAME: wall[NAME] fastest wall seconds, walls[NAME] every run's,
# cpu[NAME] user+sys CPU seconds of the fastest run, rss[NAME] largest peak
# RSS in KiB over the runs.
declare -A wall walls cpu rss payload asize

# measure NAME CMD...: run CMD under GNU time and record it. For 'bash -c
# PIPELINE' the RSS is that of the largest single process of the pipeline
# (wait4 reports the maximum ru_maxrss over bash and its children), not the
# sum of the processes running at the same time. Dirty pages are written
# back first so that one step's writeback is not billed to the next.
measure() {
	local name=$1
	shift
	sync
	if ! /usr/bin/time -f '%e %M %U %S' -o "$work/time.$name" "$@" >"$work/out.$name" 2>&1; then
		say "$name failed:"
		cat "$work/time.$name" "$work/out.$name" >&2 || true
		exit 2
	fi
	local w r u s c
	read -r w r u s <"$work/time.$name"
	c=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
	walls[$name]="${walls[$name]:-}${walls[$name]:+ }$w"
	if [[ -z ${wall[$name]:-} ]] || awk -v a="$w" -v b="${wall[$name]}" 'BEGIN { exit !(a < b) }'; then
		wall[$name]=$w
		cpu[$name]=$c
	fi
	if [[ -z ${rss[$name]:-} ]] || ((r > rss[$name])); then
		rss[$name]=$r
	fi
	say "$(printf '%-14s %8.2f s wall %8.2f s cpu %8.1f MiB' "$name" "$w" "$c" "$(mib "$r")")"
}

tree_bytes() { find "$1" -type f -printf '%s\n' | awk '{ n += $1 } END { printf "%.0f\n", n }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# makecase DIR SIZE: generate an acquisition into a new case DIR, print its id.
makecase() {
	local dir=$1 sz=$2 id
	say "generating $sz into $dir (seed $seed)"
	id=$("$work/gentree" -case "$dir" -size "$sz" -seed "$seed") || die "gentree failed"
	cp "$work/allowed_signers" "$dir/allowed_signers"
	echo "$id"
}

# clonecase SRC DST ID: a new case sharing SRC's staging ID through hard
# links, so every round seals a case of its own without copying the data.
clonecase() {
	mkdir -p "$2/staging" "$2/evidence" "$2/custody"
	cp "$1/case.json" "$1/allowed_signers" "$2/"
	cp -al "$1/staging/$3" "$2/staging/$3"
}

# warm DIR: read every file once. Dropping the page cache needs root, so
# every step instead starts with the data in the page cache: it is read
# once here and must fit in memory (see docs/performance.md).
warm() {
	find "$1" -type f -exec cat {} + >/dev/null
	sync
}

# --- main measurement -----------------------------------------------------

src=$work/case
id=$(makecase "$src" "$size")
stage_parent=$src/staging
payload_bytes=$(tree_bytes "$stage_parent/$id")
payload_files=$(find "$stage_parent/$id" -type f | wc -l)
warm "$stage_parent/$id"

base_archive=$work/standard.tar.zst
base_list=$work/standard.sha256
# The checksum list the standard verify checks against: the find | sha256sum
# of the standard seal, kept instead of discarded. Not timed: the standard
# seal already pays for computing it.
(cd "$stage_parent" && find "$id" -type f -exec sha256sum {} + >"$base_list")

for ((run = 1; run <= runs; run++)); do
	say "round $run of $runs"
	# (a) the standard seal pipeline, as in the issue.
	rm -f "$base_archive"
	measure std_seal bash -c 'cd "$1" && tar -cf - "$2" | zstd -3 -T0 > "$3" && find "$2" -type f -exec sha256sum {} + >/dev/null && sha256sum "$3"' \
		_ "$stage_parent" "$id" "$base_archive"

	# (b) custos seal, into a case of its own.
	case_dir=$work/case-$run
	clonecase "$src" "$case_dir" "$id" || die "cannot set up $case_dir"
	measure custos_seal "$custos" seal --case "$case_dir" --key "$work/key" --acquisition "$id"
	archive=$(ls "$case_dir"/evidence/*-"$id".tar.zst) || die "custos seal wrote no archive"

	# (c) the standard verify: extract, then check every file.
	mkdir "$work/extract"
	measure std_verify bash -c 'set -o pipefail; zstd -dc "$1" | tar -xf - -C "$2" && cd "$2" && sha256sum -c --quiet "$3"' \
		_ "$base_archive" "$work/extract" "$base_list"
	rm -rf "$work/extract"

	# (d) custos verify: signatures, manifests, completeness, custody log.
	measure custos_verify "$custos" verify "$archive"

	base_size=$(stat -c %s "$base_archive")
	custos_size=$(stat -c %s "$archive")
	chmod -R u+w "$case_dir"
	rm -rf "$case_dir"
done

# --- streaming check ------------------------------------------------------

if [[ ${BENCH_STREAM:-0} == 1 ]]; then
	for which in small large; do
		sz=$small
		[[ $which == large ]] && sz=$large
		dir=$work/case-$which
		sid=$(makecase "$dir" "$sz")
		payload[$which]=$(tree_bytes "$dir/staging/$sid")
		warm "$dir/staging/$sid"
		measure "${which}_seal" "$custos" seal --case "$dir" --key "$work/key" --acquisition "$sid"
		rm -rf "${dir:?}/staging/$sid" # frees the disk; verify does not need it
		a=$(ls "$dir"/evidence/*-"$sid".tar.zst) || die "custos seal wrote no archive"
		asize[$which]=$(stat -c %s "$a")
		measure "${which}_verify" "$custos" verify "$a"
	done
fi

# --- report ---------------------------------------------------------------

row() { # LABEL NAME [ARCHIVE-BYTES]
	printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "${wall[$2]}" "${walls[$2]}" "${cpu[$2]}" "$(mib "${rss[$2]}")" "${3:-}"
}

commit=$(commit_line "$repo")

cat <<EOF
# custos seal/verify benchmark

- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $commit
- machine: $(machine_line), $(stat -f -c %T "$work") file system
- load average at start: $load_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)
- tools: $(go version | cut -d' ' -f3-), $(zstd --version | sed 's/^\*\*\* //; s/ \*\*\*$//; s/, by.*//'), $(tar --version | head -1), $(sha256sum --version | head -1) at $sha_rate MiB/s
- data: bench/gentree -size $size -seed $seed: $payload_files files, $payload_bytes bytes
- $runs interleaved rounds; wall is the fastest round, CPU is user+sys of that round, RSS the largest of all rounds
- page cache warm (the tree is read once first; dropping caches needs root); RSS of a pipeline is that of its largest process

| step | wall s | all rounds s | CPU s | peak RSS MiB | archive bytes |
|---|---:|---:|---:|---:|---:|
EOF
row 'standard seal: `tar -cf - DIR \| zstd -3 -T0 > X && find DIR -type f -exec sha256sum {} + && sha256sum X`' std_seal "$base_size"
row 'custos seal' custos_seal "$custos_size"
row 'standard verify: `zstd -dc X \| tar -xf - -C T && sha256sum -c`' std_verify
row 'custos verify' custos_verify
cat <<EOF

| target | measured | limit | result |
|---|---:|---:|---|
EOF
r=$(ratio "${wall[custos_seal]}" "${wall[std_seal]}")
check "seal wall / standard" "$r" "≤ $seal_wall_max" "$(okif "$r" "$seal_wall_max")"
m=$(mib "${rss[custos_seal]}")
check "seal peak RSS" "$m MiB" "≤ $seal_rss_max MiB" "$(okif "$m" "$seal_rss_max")"
r=$(ratio "$custos_size" "$base_size")
check "archive size / standard" "$r" "≤ $size_ratio_max" "$(okif "$r" "$size_ratio_max")"
r=$(ratio "${wall[custos_verify]}" "${wall[std_verify]}")
check "verify wall / standard" "$r" "≤ $verify_wall_max" "$(okif "$r" "$verify_wall_max")"
m=$(mib "${rss[custos_verify]}")
check "verify peak RSS" "$m MiB" "≤ $verify_rss_max MiB" "$(okif "$m" "$verify_rss_max")"

if [[ ${BENCH_STREAM:-0} == 1 ]]; then
	cat <<EOF

Streaming: verify peak RSS must not grow with the archive (one run each).

| archive | payload bytes | archive bytes | seal s | seal RSS MiB | verify s | verify RSS MiB |
|---|---:|---:|---:|---:|---:|---:|
| $small | ${payload[small]} | ${asize[small]} | ${wall[small_seal]} | $(mib "${rss[small_seal]}") | ${wall[small_verify]} | $(mib "${rss[small_verify]}") |
| $size | $payload_bytes | $custos_size | ${wall[custos_seal]} | $(mib "${rss[custos_seal]}") | ${wall[custos_verify]} | $(mib "${rss[custos_verify]}") |
| $large | ${payload[large]} | ${asize[large]} | ${wall[large_seal]} | $(mib "${rss[large_seal]}") | ${wall[large_verify]} | $(mib "${rss[large_verify]}") |

| target | measured | limit | result |
|---|---:|---:|---|
EOF
	s=$(mib "${rss[small_verify]}")
	l=$(mib "${rss[large_verify]}")
	check "verify peak RSS, $small" "$s MiB" "≤ $verify_rss_max MiB" "$(okif "$s" "$verify_rss_max")"
	check "verify peak RSS, $large" "$l MiB" "≤ $verify_rss_max MiB" "$(okif "$l" "$verify_rss_max")"
	bound=$(awk -v s="$s" -v k="$stream_rss_slack" 'BEGIN { b = s * k; if (b < s + 8) b = s + 8; printf "%.1f", b }')
	check "verify RSS, $large vs $small" "$l vs $s MiB" "≤ $bound MiB" "$(okif "$l" "$bound")"
fi

if [[ $failed == 1 ]]; then
	say "a target failed"
	[[ ${BENCH_NO_FAIL:-0} == 1 ]] || exit 1
fi
exit 0
