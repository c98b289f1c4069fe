#!/bin/bash
# Runs inside the 4-node guest (tests/vm/daemon-kmod.test) with
# numamigrate.ko loaded: numamigrated moves nm-workload (2 processes x 2
# threads, 4K + THP + shared memory) with --engine auto (0-1 -> 2-3: the
# module takes the 4K pages, move_pages(2) the THPs, which stay huge, and
# the shared memory) and --engine kmod (back: the module takes all
# anonymous memory, THPs included; shared memory still goes to
# move_pages(2)); pages, threads and data are checked after each; then
# --engine kmod --threads 100, above the module's 64 (its batches get 64).
set -u
top_builddir=$1
. "$(dirname "$0")/daemon-guest-lib.sh"
[ -c /dev/numamigrate ] || { echo "FAIL: /dev/numamigrate missing"; exit 1; }
write_config
start_daemon
start_nmw --size 16M --procs 2 --threads 2 --kinds 4k,thp,shared --node 0-1
P=$NMW_PIDS
summary() {
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('  result:', {k: d.get(k) for k in ('engine','pages_moved','pages_failed','pages_by_engine','pages_sent_by_engine','kmod_loaded','failed_by_reason','frozen_seconds')})" "$1"
}

# 1. auto: 4K to the module, THP and shared memory to move_pages(2).
"$PLACEMENT" snap "$T/b.json" "$P"
"$PLACEMENT" kinds "$T/b.json" "$T/nmw.out" >"$T/k.json"
echo "  workload regions (pages, summed over processes): $(cat "$T/k.json")"
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --to 2-3 --engine auto --json >"$T/m.json" 2>"$T/err" &&
	ok "move --engine auto" || fail "move --engine auto: $(cat "$T/err")"
summary "$T/m.json"
json_check "$T/m.json" "d['ok'] and d['engine'] == 'auto' and d['kmod_loaded'] and d['pages_failed'] == 0"
json_check "$T/m.json" "d['pages_by_engine']['kmod'] > 0 and d['pages_by_engine']['syscall'] > 0 and d['pages_by_engine']['kmod'] + d['pages_by_engine']['syscall'] == d['pages_moved']"
"$PLACEMENT" kinds "$T/b.json" "$T/nmw.out" >"$T/k2.json"
python3 - "$T/k.json" "$T/k2.json" "$T/m.json" <<'PY' && ok "auto: every 4K page to the module, THP (still huge) and shared to move_pages" || fail "auto did not split by kind"
import json, sys
k, k2, d = (json.load(open(f)) for f in sys.argv[1:4])
sent = d["pages_sent_by_engine"]
# Private 4K regions all went to the module; no THP or shared page did.
ok = sent["kmod"] >= k["4k"] and sent["syscall"] >= k["thp"] + k["shared"]
ok &= sent["kmod"] + k["thp"] + k["shared"] <= sent["kmod"] + sent["syscall"]
# move_pages(2) moved the THPs whole: the job has as many as before.
ok &= k["thp"] > 0 and k2["thp_now"] >= k["thp"]
print("  sent", sent, "THP pages before", k["thp"], "now", k2["thp_now"])
sys.exit(0 if ok else 1)
PY
"$PLACEMENT" check "$T/b.json" "$T/m.json" "$P" &&
	ok "every page on its mapped node, threads re-pinned" || fail "placement after --engine auto"
running "$P" || fail "job not running after --engine auto"

# 2. kmod: the module for all anonymous memory, shared memory elsewhere.
"$PLACEMENT" snap "$T/b.json" "$P"
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --map 2-3:0-1 --engine kmod --json >"$T/m.json" 2>"$T/err" &&
	ok "move --engine kmod" || fail "move --engine kmod: $(cat "$T/err")"
summary "$T/m.json"
json_check "$T/m.json" "d['ok'] and d['engine'] == 'kmod' and d['pages_failed'] == 0"
python3 - "$T/k.json" "$T/m.json" <<'PY' && ok "kmod: all anonymous memory to the module, shared memory to move_pages" || fail "kmod split"
import json, sys
k, d = (json.load(open(f)) for f in sys.argv[1:3])
sent = d["pages_sent_by_engine"]
print("  sent", sent)
by = d["pages_by_engine"]
# What the module did not move fell back to move_pages(2); the rest of
# move_pages's share is the shared memory (scanned once per process).
fell_back = sent["kmod"] - by["kmod"]
print("  module moved", by["kmod"], "fell back", fell_back)
sys.exit(0 if sent["kmod"] >= k["4k"] + k["thp"] and
         0 < sent["syscall"] - fell_back <= k["shared"] else 1)
PY
"$PLACEMENT" check "$T/b.json" "$T/m.json" "$P" &&
	ok "every page back on 0-1, threads re-pinned" || fail "placement after --engine kmod"
running "$P" || fail "job not running after --engine kmod"
stop_nmw

# 3. More threads than the module copies with (its max is 64): the move
# goes through, the module's batches get 64, and the result says so.  A
# job of private memory only: every page goes to the module (shared
# memory would go to move_pages(2), where 100 workers contend for it).
start_nmw --size 16M --procs 2 --threads 2 --kinds 4k,thp --node 0-1
P=$NMW_PIDS
"$PLACEMENT" snap "$T/b.json" "$P"
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --to 2-3 --engine kmod --threads 100 --json >"$T/m.json" 2>"$T/err" &&
	ok "move --engine kmod --threads 100" || fail "move --engine kmod --threads 100: $(cat "$T/err")"
summary "$T/m.json"
json_check "$T/m.json" "d['ok'] and d['threads'] == 100 and d['pages_failed'] == 0 and d['pages_by_engine']['kmod'] > 0 and 'at most 64' in d.get('kmod_threads_capped', '')"
"$PLACEMENT" check "$T/b.json" "$T/m.json" "$P" &&
	ok "--threads 100: every page on 2-3, threads re-pinned" || fail "placement after --threads 100"
running "$P" || fail "job not running after --threads 100"
stop_nmw
stop_daemon
finish
