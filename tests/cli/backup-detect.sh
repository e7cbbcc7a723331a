# SPDX-License-Identifier: Apache-2.0
# Shared by the backup-detect-* and backup-attention-* CLI cases (sourced by their cmd; it
# is not a case itself): a generated SS-MIX2 storage moved to the folders a hospital uses,
# a fresh repository, and checks against the generator's truth file. Prints counts only,
# never a patient ID.
export MAMORI_PASSPHRASE=detect-passphrase XDG_CACHE_HOME="$PWD/cache" TZ=Asia/Tokyo
unset MAMORI_CACHE

# place <standardized-dir> <extended-dir> [<seed>]: generate 14 patients (truth in t.json)
# and move the two storages to the given paths (their parents are created)
place() {
    "$MAMORI_GEN" --out g --patients 14 --days 60 --seed "${3:-11}" --extended --truth t.json \
        -q || exit 9
    mkdir -p "$(dirname "$1")" "$(dirname "$2")" || exit 9
    mv g/standard "$1" && mv g/extended "$2" || exit 9
    python3 -c 'import json; [print(p["patient"]["id"]) for p in json.load(open("t.json"))["patients"]]' \
        >ids || exit 9
    "$MAMORI" -q init --repo r --user it-admin --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets || exit 9
}

# place_root <dir> [<seed>]: the same, the generator's whole output (standard/, extended/ and
# its state, so that `mamori-gen advance --out <dir>` works) moved to <dir>
place_root() {
    place g.std g.ext "$2"
    mkdir -p "$(dirname "$1")" && mv g "$1" && mv g.std "$1/standard" && mv g.ext "$1/extended" ||
        exit 9
}

# backup_lines <args...>: back up, show the exit status, the SS-MIX2 lines of its output
# (paths below $PWD shown relative) and its standard error
backup_lines() {
    "$MAMORI" backup --repo r "$@" >out.txt 2>err.txt
    echo "backup: exit $?"
    grep 'SS-MIX2' out.txt
    sed 's/[0-9a-f]\{12\}/<gen>/g' err.txt
}

# found_all [<generation>]: how many truth patients search --repo finds by ID
found_all() {
    n=0
    miss=0
    while read -r id; do
        n=$((n + 1))
        "$MAMORI" search "$id" --repo r --generation "${1:-latest}" --json 2>/dev/null |
            grep -q "\"id\":\"$id\"" || miss=$((miss + 1))
    done <ids
    echo "truth patients: $n, not found by search --repo: $miss"
}

# same_as_storage <standardized-dir> <extended-dir>: every patient's show --repo --json equals
# show --storage --extended (the extended storage's documents are in the index)
same_as_storage() {
    differ=0
    docs=0
    while read -r id; do
        "$MAMORI" show "$id" --as-of 2025-09-01T09:00 --storage "$1" --extended "$2" --json >a.json 2>/dev/null
        "$MAMORI" show "$id" --as-of 2025-09-01T09:00 --repo r --json >b.json 2>/dev/null
        cmp -s a.json b.json || differ=$((differ + 1))
        python3 -c 'import json; exit(0 if json.load(open("b.json"))["documents"] else 1)' &&
            docs=$((docs + 1))
    done <ids
    echo "patients whose show --repo differs from show --storage --extended: $differ"
    [ "$docs" -gt 0 ] && echo "documents of the extended storage are in the index"
}

# generations_marks: the generations listing without IDs and times, and --json's marks
generations_marks() {
    "$MAMORI" generations --repo r >gl.txt 2>ge.txt
    echo "generations: exit $?"
    sed -e 's/^[0-9a-f]\{12\}  [0-9-]* [0-9:]*  .*$/<generation>/' -e 's/[0-9a-f]\{12\}/<gen>/g' gl.txt
    sed 's/[0-9a-f]\{12\}/<gen>/g' ge.txt
    "$MAMORI" generations --repo r --json 2>gj.txt |
        sed 's/},{"id"/},\n{"id"/g' | grep -o '"attention":[^]]*\],"patients":[0-9a-z]*,"parent_patients":[0-9a-z]*'
    sed 's/[0-9a-f]\{12\}/<gen>/g' gj.txt
}
