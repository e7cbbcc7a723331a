# SPDX-License-Identifier: Apache-2.0
# Shared by the status-* CLI cases (sourced by their cmd; it is not a case itself): a
# configuration of three sources (one paused) and five weekday media, and a hand-written state
# folder as the cycles of 2026-12-07 (Mon) to 12-10 (Thu) would leave it: an old line without
# the fields status added, a garbage line, and new lines; data staged for two media. The
# cases judge it on Friday 2026-12-11 at 00:30 UTC (--date, --now) in TZ=UTC, so the output
# is the same on every machine.
export TZ=UTC
G1=1111111111111111111111111111111111111111111111111111111111111111
G2=2222222222222222222222222222222222222222222222222222222222222222
G4=4444444444444444444444444444444444444444444444444444444444444444

# window <date> <medium> <result> <stage> <reason> <generation or ""> <held> <verify>
window() {
    g=0
    [ -n "$6" ] && g=1
    printf '{"date":"%s","attached":"%sT01:00:02Z","online_s":%s,"medium":"%s","result":%s,' \
        "$1" "$1" "${ONLINE:-4.250}" "$2" "$3"
    printf '"stage":"%s","reason":"%s","generations":%s,"generation":"%s","bytes_written":2048,' \
        "$4" "$5" "$g" "$6"
    printf '"sources":2,"detach":0,"source_names":["ssmix2","billing"],"free_bytes":%s,' \
        "$([ "$g" = 1 ] && echo 40265318 || echo -1)"
    printf '"size_bytes":%s,"generations_held":%s,"verify":"%s","guard":"none",' \
        "$([ "$g" = 1 ] && echo 50331648 || echo -1)" "$7" "$8"
    printf '"hospital":"1310012345"}\n'
}

# fixture [good]: the files; "good" makes Wednesday's window succeed and stages nothing expired
fixture() {
    mkdir -p state/staged || exit 9
    cat >mamori.conf <<CONF || exit 9
[hospital]
id = 1310012345
name = まもり総合病院
[service]
state_dir = $PWD/state
[source "ssmix2"]
kind = ssmix2
path = /srv/ssmix2/standard
rpo = 26h
[source "billing"]
kind = folder
path = /srv/billing
rpo = 2d
[source "pacs"]
kind = folder
path = /srv/pacs
enabled = no
[media]
rotation = weekday
[medium "MON"]
days = mon,sat,sun
path = /mnt/mamori/repo
[medium "TUE"]
days = tue
path = /mnt/mamori/repo
[medium "WED"]
days = wed
path = /mnt/mamori/repo
[medium "THU"]
days = thu
path = /mnt/mamori/repo
[medium "FRI"]
days = fri
path = /mnt/mamori/repo
CONF
    {
        # written before status existed: no source names, figures, verify or guard
        printf '{"date":"2026-12-07","attached":"2026-12-07T01:00:02Z","online_s":41.250,'
        printf '"medium":"MON","result":0,"stage":"none","reason":"","generations":1,'
        printf '"generation":"%s","bytes_written":1048576,"sources":2,"detach":0}\n' "$G1"
        echo 'this line is not a window {'
        window 2026-12-08 TUE 0 none "" "$G2" 3 ok
        if [ "${1:-}" = good ]; then
            window 2026-12-09 WED 0 none "" "$G2" 2 ok
        else
            ONLINE=2.125 window 2026-12-09 WED 1 open "no repository on the medium" "" -1 not_run
        fi
        window 2026-12-10 THU 0 none "" "$G4" 1 ok
    } >state/windows.jsonl
    printf '{"medium":"FRI","generation":"%s","staged_at":"2026-12-10T23:00:00Z","bytes":524288,"expires":"2026-12-24T23:00:00Z"}\n' \
        "$G4" >state/staged/FRI.json
    [ "${1:-}" = good ] ||
        printf '{"medium":"WED","generation":"%s","staged_at":"2026-11-20T01:00:00Z","bytes":1024,"expires":"2026-12-04T01:00:00Z"}\n' \
            "$G2" >state/staged/WED.json
}

# st <args>: mamori status on the fixture's day, then its exit status
st() {
    "$MAMORI" status --config mamori.conf --date 2026-12-11 --now 2026-12-11T00:30:00Z "$@"
    echo "exit $?"
}
