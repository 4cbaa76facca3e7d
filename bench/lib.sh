# bench/lib.sh: what the bench scripts share. Source it after setting
# BENCH_KEEP etc.; it defines say, die, need_tools, new_workdir, cleanup_work,
# machine_line, le, check, okif and commit_line.

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 2
}

# need_tools TOOL...: each tool, and GNU time at /usr/bin/time, must exist.
need_tools() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || die "$tool is not installed"
	done
	{ [[ -x /usr/bin/time ]] && /usr/bin/time -f '%e' true 2>/dev/null; } ||
		die "GNU time is needed at /usr/bin/time (apt-get install time)"
}

# new_workdir: sets work to a new temporary directory.
new_workdir() {
	work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/custos-bench.XXXXXX")
}

# cleanup_work: removes $work unless BENCH_KEEP=1.
cleanup_work() {
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then
		say "kept $work"
		return
	fi
	chmod -R u+w "$work" 2>/dev/null || true
	rm -rf "$work"
}

# machine_line: "N CPUs (model), M GiB RAM, kernel" for reports.
machine_line() {
	local cpu mem
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	printf '%s CPUs (%s), %s RAM, %s' "$(nproc)" "$cpu" "$mem" "$(uname -sr)"
}

# le A B: succeeds when A <= B (decimals).
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# check LABEL MEASURED LIMIT-TEXT ok|no: prints a target row and sets
# failed=1 when the target is missed.
failed=0
check() {
	local res=PASS
	if [[ $4 != ok ]]; then
		res=FAIL
		failed=1
	fi
	printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$res"
}

# okif A B: "ok" when A <= B, else "no" (for check).
okif() { if le "$1" "$2"; then echo ok; else echo no; fi; }

# commit_line REPO: the short commit, marked when the tree has changes.
commit_line() {
	local c
	c=$(git -C "$1" rev-parse --short HEAD 2>/dev/null || echo unknown)
	[[ -n $(git -C "$1" status --porcelain 2>/dev/null) ]] && c="$c (with uncommitted changes)"
	echo "$c"
}
