# Shell helpers shared by the whole-program benchmarks; sourced, not run.
# shellcheck shell=bash

# The measuring wrapper (see measure.py beside this file).
MEASURE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/measure.py

# stats over a list of numbers on stdin: "best median"
best_median() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan nan"; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.3f %.3f\n", v[1], m }'
}

# measure_runs LABEL RUNS CLEANUP ARGV…: runs ARGV RUNS times under measure.py, each after the
# shell command CLEANUP and a `sync` (untimed, so a run does not pay for the writeback of the one
# before it). The command's stdout goes to /dev/null, its stderr to $LOG.stderr; each run is logged
# to $LOG as "LABEL runI <measure.py's line>". Sets MEASURED="best_s median_s rss_kb anon_kb codes"
# (the largest RSS and RssAnon over the runs, exit codes comma-separated).
measure_runs() {
    local label=$1 runs=$2 cleanup=$3
    shift 3
    local walls=() rss=0 anon=0 codes="" res wall code r a i best median
    for i in $(seq "$runs"); do
        eval "$cleanup"
        sync
        res=$(python3 "$MEASURE" "$@" </dev/null 2>>"$LOG.stderr")
        echo "$label run$i $res" >>"$LOG"
        [ -n "$res" ] || { echo "measuring $label failed: see $LOG.stderr" >&2; exit 1; }
        read -r wall code r a _ _ <<<"$res"
        walls+=("$wall")
        codes="$codes $code"
        [ "$r" -gt "$rss" ] && rss=$r
        [ "$a" != NA ] && [ "$a" -gt "$anon" ] && anon=$a
    done
    read -r best median < <(printf '%s\n' "${walls[@]}" | best_median)
    MEASURED="$best $median $rss $anon ${codes// /,}"
}
