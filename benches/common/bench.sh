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
