#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Print the ward of some patient who is an inpatient at the end of a mamori-gen truth file
# (for `make demo`'s `mamori print --ward`); nothing when nobody is admitted.
#   demo-ward.py TRUTH.json
import json
import sys

for p in json.load(open(sys.argv[1]))['patients']:
    ward = None
    for e in p['encounters']:
        if e['kind'] in ('admission', 'transfer'):
            ward = e.get('ward')
        elif e['kind'] == 'discharge':
            ward = None
    if ward:
        print(ward)
        break
