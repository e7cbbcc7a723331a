# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
# Sourced by CLI cases: build a small synthetic standardized storage in ./s with
# current, superseded and cancelled files, a short patient ID, and more than 20
# problems of every kind the scan reports (the 10 junk files sort last, so the
# 20 examples show every other kind). Synthetic IDs only (8888001, 12345).
set -e
mkfile() {
    mkdir -p "$(dirname "$1")"
    printf 'MSH|^~\\&|synthetic\r' >"$1"
}
P=s/888/800/8888001
T=$P/20200101/OMP-01
mkfile $T/8888001_20200101_OMP-01_000000000000001_20200101090000000_01_1
mkfile $T/8888001_20200101_OMP-01_000000000000001_20200101080000000_01_2
mkfile $T/8888001_20200101_OMP-01_000000000000002_20200101080000000_01_0
mkfile $P/-/ADT-00/8888001_-_ADT-00_999999999999999_20200101080000000_-_1
mkfile $P/-/PPR-01/8888001_-_PPR-01_999999999999999_20200101080000000_-_2
mkfile s/123/45/12345/-/ADT-00/12345_-_ADT-00_999999999999999_20200101080000000_-_1
mkfile s/123/45/12345/20200102/OML-11/12345_20200102_OML-11_0000000000001_202001020800001_09A_1
# problems
mkfile s/README
mkfile $P/notes.txt
mkfile $P/8888001.txt
mkfile $T/8888001_20200230_OMP-01_000000000000003_20200101080000000_01_1
mkfile $T/8888001_20200101_OMP-01_000000000000003_20200101080000000_01_3
mkfile $T/8888001_20200101_OMP-09_000000000000003_20200101080000000_01_1
mkfile $T/8888001_20200101_OMP-02_000000000000003_20200101080000000_01_1
mkfile $P/20200102/OMP-01/8888001_20200101_OMP-01_000000000000004_20200101080000000_01_1
mkfile s/888/801/8888001/20200101/OMP-01/8888001_20200101_OMP-01_000000000000005_20200101080000000_01_1
mkfile "$T/8888001_bad$(printf '\377')byte"
mkfile "$T/8888001_tab$(printf '\t')char"
mkdir -p $T/subfolder
ln -s nowhere $T/link
i=10
while [ $i -lt 20 ]; do
    mkfile s/zz/junk$i
    i=$((i + 1))
done
