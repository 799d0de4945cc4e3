#!/usr/bin/env python3
"""Writes docs/errors.md from the Error enums of every crate (code, and the first sentence of
the variant's doc comment). Run from the repository root: python3 tools/gen_errors_md.py"""
import re
crates=[('mdmkit-core','core/src/error.rs'),('mdmkit-apns','apns/src/error.rs'),('mdmkit-certstore','certstore/src/error.rs'),('mdmkit-enrollment','enrollment/src/error.rs'),('mdmkit-service','service/src/error.rs'),('mdmkit-web','web/src/lib.rs')]
out=['# Error codes','','Every error of every crate has a stable, machine-readable `code()`. A crate that wraps',
'another crate\'s error passes its code through unchanged (`mdmkit_service::Error::code` of a',
'core error is core\'s code), so a front end maps codes, not types: the Python binding has one',
'exception class per code, Node rejects with `err.code`, Swift throws `MdmError.Failed(code:',
'message:)`. `mdmkit_service::Error::all_codes()` lists them all; each crate\'s `Error::CODES`',
'is checked by a test against its `code()`, and the bindings check their tables against',
'`all_codes()`. One concept has one code in every crate (a certificate that cannot be read is',
'`certificate_unreadable` everywhere; expiry is `certificate_expired`).','']
seen=set()
for crate,path in crates:
    s=open(path).read()
    enum=s[s.index('pub enum Error'):]
    enum=enum[:enum.index('\n}\n')]
    docs={}
    doc=[]
    for line in enum.splitlines():
        t=line.strip()
        indent=len(line)-len(line.lstrip())
        if indent!=4:
            continue
        if t.startswith('///'):
            doc.append(t[3:].strip())
        elif re.match(r'^[A-Z][A-Za-z0-9]*\b',t) and not t.startswith('#'):
            name=re.match(r'^([A-Z][A-Za-z0-9]*)',t).group(1)
            docs[name]=' '.join(doc).split('. ')[0].rstrip('.')
            doc=[]
        elif t.startswith('#['):
            pass
        elif t=='':
            pass
        else:
            if not t.startswith('///'): pass
    code_fn=s[s.index('pub fn code(&self)'):]
    code_fn=code_fn[:code_fn.index('\n    }\n')]
    rows=[]
    for m in re.finditer(r'Error::([A-Za-z0-9]+)[^=]*=>\s*"([a-z0-9_]+)"',code_fn):
        name,code=m.group(1),m.group(2)
        rows.append((code,docs.get(name,'')))
    out.append(f'## {crate}')
    out.append('')
    out.append('| code | meaning |')
    out.append('| --- | --- |')
    for code,meaning in rows:
        note=' (as above)' if code in seen else ''
        meaning=meaning.replace("|", "/")
        out.append(f'| `{code}` | {meaning}{note} |')
        seen.add(code)
    out.append('')
open('docs/errors.md','w').write('\n'.join(out))
print(len(seen),'codes')
