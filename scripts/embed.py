#!/usr/bin/env python3
"""Embed a text file into a C source file as a byte array.

Used so that the daemon's built-in defaults are the shipped files
themselves (conf/newsfeedd.yaml, conf/rules.yaml): one source of truth.
usage: embed.py INPUT OUTPUT SYMBOL
"""
import sys

src, dst, sym = sys.argv[1:4]
data = open(src, 'rb').read()
with open(dst, 'w') as out:
    out.write('/* generated from %s by scripts/embed.py; do not edit */\n' % src)
    out.write('#include <stddef.h>\n')
    out.write('const char %s[] = {\n' % sym)
    for i in range(0, len(data), 16):
        out.write('  ' + ', '.join('0x%02x' % b for b in data[i:i + 16]) + ',\n')
    out.write('  0x00\n};\n')
    out.write('const size_t %s_len = %d;\n' % (sym, len(data)))
