#!/usr/bin/env bash
# Runs a command with a time limit. Past the limit it prints the process tree and every
# thread's backtrace in each of the command's processes (gdb), then kills them all and
# exits 124: a hung test then fails CI with the stacks that explain it, instead of holding
# the run until CI's own limit ends it with nothing to read.
# Usage: scripts/run-with-hang-dump.sh LIMIT_SECONDS COMMAND [ARGS...]
set -uo pipefail
limit=$1; shift
setsid "$@" &
leader=$!
descendants() {  # the process group the command leads, then anything reparented away from it
  ps -eo pid=,pgid= | awk -v g="$leader" '$2 == g { print $1 }'
}
for ((waited = 0; waited < limit; waited++)); do
  if ! kill -0 "$leader" 2>/dev/null; then wait "$leader"; exit $?; fi
  sleep 1
done
echo "run-with-hang-dump: still running after ${limit}s: $*" >&2
ps -o pid,ppid,etime,stat,args --forest -g "$leader" >&2 || true
for pid in $(descendants); do
  echo "--- threads of $pid: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-300)" >&2
  if command -v gdb >/dev/null; then
    timeout 120 gdb -batch -p "$pid" -ex 'thread apply all bt 30' 2>&1 |
      grep -v '^\[New LWP\|^\[Thread debugging\|^Using host libthread_db' >&2 || true
  else
    cat "/proc/$pid/task/"*/stack 2>/dev/null >&2 || true
  fi
done
kill -KILL -- "-$leader" 2>/dev/null
wait "$leader" 2>/dev/null
exit 124
