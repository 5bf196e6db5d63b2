// The reference GPT-2 encoder of the npm package gpt-3-encoder (Encoder.js: its regex `pat`,
// its `bpe` and its tables, used unchanged) applied to a file's bytes, printing the token ids
// separated by spaces.
//
// usage: node bpe_reference.js PKGDIR FILE
//
// The package's own encode() takes a JavaScript string, so a file that is not valid UTF-8
// cannot reach it unchanged. Here the bytes are decoded with the surrogate escape of Python's
// PEP 383: a well-formed UTF-8 sequence becomes its code point, any other byte b the lone
// surrogate U+DC00 + b (a code point that is neither letter, number nor space to the regex),
// and each pre-token is turned back into exactly its original bytes. For valid UTF-8 this is
// the package's encode(): checked on every input of up to CHECK_BYTES bytes (and on that prefix,
// cut after a newline, of longer ones), because the package's encode() is quadratic in length.
'use strict';
const fs = require('fs');
const path = require('path');
const Module = require('module');

const CHECK_BYTES = 100000;

const pkg = process.argv[2], file = process.argv[3];
const encPath = path.join(pkg, 'Encoder.js');
const mod = new Module(encPath, null);
mod.filename = encPath;
mod.paths = Module._nodeModulePaths(pkg);
mod._compile(fs.readFileSync(encPath, 'utf8') +
             '\nmodule.exports.__internals = {bpe, pat, encoder, byte_encoder};\n', encPath);
const {encode} = mod.exports;
const {bpe, pat, encoder, byte_encoder} = mod.exports.__internals;

// Length and code point of the well-formed UTF-8 sequence at b[i] (Unicode table 3-7), or 0.
function utf8At(b, i) {
  const c = b[i];
  if (c < 0x80) return [1, c];
  let len, v, lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; v = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; v = c & 0x0F; if (c === 0xE0) lo = 0xA0; if (c === 0xED) hi = 0x9F; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; v = c & 0x07; if (c === 0xF0) lo = 0x90; if (c === 0xF4) hi = 0x8F; }
  else return [0, 0];
  if (i + len > b.length) return [0, 0];
  for (let k = 1; k < len; k++) {
    const t = b[i + k];
    if (t < (k === 1 ? lo : 0x80) || t > (k === 1 ? hi : 0xBF)) return [0, 0];
    v = (v << 6) | (t & 0x3F);
  }
  return [len, v];
}

function decodeEscaped(b) {
  const parts = [];
  let valid = true;
  for (let i = 0; i < b.length;) {
    const [len, cp] = utf8At(b, i);
    if (len) { parts.push(String.fromCodePoint(cp)); i += len; }
    else { parts.push(String.fromCharCode(0xDC00 + b[i])); i += 1; valid = false; }
  }
  return [parts.join(''), valid];
}

function tokenBytes(s) {
  const out = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    if (cp >= 0xDC80 && cp <= 0xDCFF) out.push(cp - 0xDC00);
    else for (const x of Buffer.from(ch, 'utf8')) out.push(x);
  }
  return out;
}

function encodeEscaped(text) {
  const ids = [];
  for (const m of text.matchAll(pat)) {
    const token = tokenBytes(m[0]).map(x => byte_encoder[x]).join('');
    for (const t of bpe(token).split(' ')) {
      const id = encoder[t];
      if (id === undefined) throw new Error('no id for BPE symbol ' + JSON.stringify(t));
      ids.push(id);
    }
  }
  return ids;
}

const bytes = fs.readFileSync(file);
const [text, valid] = decodeEscaped(bytes);
const ids = encodeEscaped(text);
if (valid) {
  let prefix = bytes;
  if (bytes.length > CHECK_BYTES) prefix = bytes.subarray(0, bytes.lastIndexOf(0x0A, CHECK_BYTES) + 1);
  const s = prefix.toString('utf8');
  const a = encode(s), b = encodeEscaped(s);
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
    process.stderr.write('bpe_reference: the escaped encoder disagrees with the package encode()\n');
    process.exit(1);
  }
}
process.stdout.write(ids.join(' ') + '\n');
