#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The guard inside `mamori run` (issue 18): two media as folders (MON serves mon/wed/fri/sun,
# TUE serves tue/thu/sat; keep = 2, keep_min_age 1s, keep_min_clean 1), a configuration with an
# alert hook that appends MAMORI_ALERT to a file, a generated hospital as the sources.
#  - normal days: every run exits 0, windows.jsonl says guard "clean", and retirement works
#    (a medium written three times keeps 2 generations) — so holding below is not a no-op;
#  - ransim encrypts 1 % of the standard storage in place; the next run (TUE's day) exits 4,
#    its generation is "suspect", the alert hook ran and its line says suspect, and nothing
#    is retired on TUE;
#  - the next day (MON's, no further attack): exit 4 again (a suspect stands on this host), the
#    alert fires again, its reasons name the attacked generation as standing (and not a
#    standing list that could not be read), and MON keeps every generation it had plus the new
#    one (nothing retired on the other medium while the suspect stands).
#
# usage: alert.sh <mamori> <mamori-gen>
set -u

NAME=guard-alert
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/../crash/lib.sh"
crash_binaries "$@"
W=$(mktemp -d "${TMPDIR:-/tmp}/mm-guard-alert-XXXXXX") || exit 1
# shellcheck source=tests/guard/lib.sh
. "$(dirname "$0")/lib.sh"
trap '[ -n "${KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"' EXIT
fail_more() {
    [ -s "$W/alerts.log" ] && sed 's/^/    alerts | /' "$W/alerts.log" >&2
    [ -s "$W/state/windows.jsonl" ] && tail -n 3 "$W/state/windows.jsonl" | sed 's/^/    windows | /' >&2
    return 0
}
guard_env
unset MAMORI_PASSPHRASE

make_hospital "$W/src" 30
PASSFILE=$W/passphrase
(umask 077 && echo "$PASS" >"$PASSFILE") || exit 1
for m in MON TUE; do
    MAMORI_PASSPHRASE=$PASS must_be "init-$m" 0 "$M" -q init --repo "$W/media/$m/repo" \
        --kdf-passes 1 --kdf-memory 8 --allow-weak-secrets
    MAMORI_PASSPHRASE=$PASS must_be "label-$m" 0 "$M" media init --repo "$W/media/$m/repo" \
        --label "$m" --hospital 1310012345
done
cat >"$W/alert" <<HOOK
#!/bin/sh
echo "alert \$MAMORI_MEDIUM \$MAMORI_ALERT" >>"$W/alerts.log"
HOOK
chmod 700 "$W/alert"
{
    printf '[hospital]\nid = 1310012345\n[service]\nstate_dir = %s/state\npassphrase_file = %s\n' "$W" "$PASSFILE"
    printf '[source "ssmix2"]\nkind = ssmix2\npath = %s/src/ss/standard\nextended = %s/src/ss/extended\n' "$W" "$W"
    printf '[source "billing"]\nkind = folder\npath = %s/src/dept/billing\n' "$W"
    printf '[source "pacs"]\nkind = folder\npath = %s/src/dept/pacs\n' "$W"
    printf '[media]\nrotation = weekday\nstaging = %s/staging\nkeep_min_age = 1s\nkeep_min_clean = 1\n' "$W"
    printf '[medium "MON"]\ndays = mon,wed,fri,sun\npath = %s/media/MON/repo\nkeep = 2\n' "$W"
    printf '[medium "TUE"]\ndays = tue,thu,sat\npath = %s/media/TUE/repo\nkeep = 2\n' "$W"
    printf '[hooks]\nalert = %s/alert\n' "$W"
} >"$W/mamori.conf"
must_be config 0 "$M" config check --config "$W/mamori.conf"

DAY=0 # 2026-11-30 is a Monday
gens_on() { # gens_on <medium>: how many generations it holds
    MAMORI_PASSPHRASE=$PASS run "gens-$1" "$M" generations --repo "$W/media/$1/repo" --json
    [ "$RC" = 0 ] || [ "$RC" = 4 ] || { show "$W/gens-$1.err" >&2; echo error; return; }
    grep -o '"id":"' "$W/gens-$1.out" | wc -l
}
cycle() { # cycle <name> <want exit>: the day's `mamori run`, then the next night's changes
    must_be "$1" "$2" "$M" --lang en run --json --config "$W/mamori.conf" \
        --date "$(date -u -d "2026-11-30 + $DAY days" +%F)"
    DAY=$((DAY + 1))
}
last_window_guard() { tail -n 1 "$W/state/windows.jsonl" | sed -n 's/.*"guard":"\([a-z]*\)".*/\1/p'; }

# ---- normal days: clean, and retirement happens -------------------------------------------
for d in 1 2 3 4 5; do
    cycle "day$d" 0
    [ "$(last_window_guard)" = clean ] || fail "normal day $d: the window's guard is not clean"
    advance_hospital "$W/src"
    sleep 1.1 # older than keep_min_age
done
[ "$(gens_on MON)" = 2 ] || fail "MON written 3 times with keep = 2 holds $(gens_on MON) generations: retirement did not work"
[ -s "$W/alerts.log" ] && { fail "an alert on normal days"; }
echo "five normal days: clean, MON retired down to keep = 2: ok"

# ---- the attack, then TUE's day (DAY 5: 2026-12-05, a Saturday) -----------------------------
[ "$(gens_on TUE)" = 2 ] || fail "TUE does not hold 2 generations before the attack"
mon_before=$(gens_on MON)
must attack "$PY" "$RANSIM" encrypt-inplace --root "$W/src/ss/standard" --share 0.01 --seed 11
cycle attacked 4
[ "$(last_window_guard)" = suspect ] || fail "the window after the attack is not suspect"
grep -q '^alert TUE .*suspect' "$W/alerts.log" || fail "the alert hook did not say suspect"
read -r attacked v codes <<<"$(MAMORI_PASSPHRASE=$PASS newest_guard "$W/media/TUE/repo")"
[ "$v" = suspect ] || fail "TUE's newest generation is '$v', not suspect"
[ "$(gens_on TUE)" = 3 ] || fail "TUE (keep = 2) holds $(gens_on TUE) generations, not 3: something retired"
echo "the attacked day: exit 4, suspect ($codes), the alert hook said so, nothing retired on TUE: ok"
advance_hospital "$W/src"
sleep 1.1

# ---- the next day on the other medium (DAY 6, Sunday: MON): exit 4, nothing retired on MON ----
: >"$W/alerts.log"
cycle next 4
grep -q '^alert MON .*suspect' "$W/alerts.log" || fail "the next day's alert does not say suspect"
[ "$(gens_on MON)" = $((mon_before + 1)) ] ||
    fail "MON (keep = 2): $mon_before generations became $(gens_on MON) while a suspect stands on this host"
[ "$(gens_on TUE)" = 3 ] || fail "TUE lost a generation while its suspect stands"
# judged suspect because the attacked generation stands on this host (its ID in the reasons),
# not because something could not be read
read -r _ v codes <<<"$(MAMORI_PASSPHRASE=$PASS newest_guard "$W/media/MON/repo")"
[ "$v" = suspect ] || fail "MON's generation of the next day is '$v', not suspect"
case ",$codes," in
*",standing(${attacked:0:12}),"*) ;;
*) fail "the next day's reasons do not name the standing suspect ${attacked:0:12}: $codes" ;;
esac
case ",$codes," in *",standing-unreadable,"*) fail "the standing list could not be read: $codes" ;; esac
echo "the next day on the other medium: exit 4 (a suspect stands), alert again, nothing retired: ok"
exit 0
