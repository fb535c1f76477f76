/**
 * The rule for text that names something (user ids, IPs, device ids, cities, actions): one identity
 * has one spelling. Text is compared in Unicode NFC, so `é` sent precomposed (NFC) or as `e` plus a
 * combining accent (NFD) is one user; and text holding a character nobody can see or type in a name
 * is refused, so `admin` and `admin\u200b` cannot pass for two users:
 * - control characters (general category Cc: C0, DEL, C1), including tab and newline;
 * - invisible format characters (Cf: zero-width space and joiners, bidi controls, the byte-order
 *   mark, soft hyphen, tag characters, ...);
 * - lone UTF-16 surrogates, which have no UTF-8 form: DynamoDB would store both `a\ud800` and
 *   `a\ud801` as `a\ufffd`, one key for two.
 * Nothing else is folded: case, spaces and compatibility forms (NFKC) stay as sent.
 */

/** Characters a name may not contain (Unicode general categories Cc and Cf). */
const INVISIBLE = /[\p{Cc}\p{Cf}]/u;

/** Whether `s` is printable ASCII only: then it is its own NFC form and holds nothing refused. */
export function isPlainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** Index of the first lone UTF-16 surrogate in `s`, or -1 (String#isWellFormed is ES2024, past our lib target). */
function loneSurrogateAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = s.charCodeAt(i + 1);
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
    else return i;
  }
  return -1;
}

/** `U+200B`: how a refused character is named in a reason. */
function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Why `s` is not acceptable as a name, or undefined when it is (the caller still normalises it). */
export function nameProblem(s: string): string | undefined {
  if (isPlainAscii(s)) return undefined;
  const lone = loneSurrogateAt(s);
  if (lone !== -1) return `contains a lone surrogate ${codePoint(s[lone]!)} at position ${lone} (not valid Unicode text)`;
  const bad = INVISIBLE.exec(s);
  if (bad) {
    const what = /\p{Cc}/u.test(bad[0]) ? 'a control character' : 'an invisible format character';
    return `contains ${what} ${codePoint(bad[0])} at position ${bad.index}; look-alike keys are refused, not merged`;
  }
  return undefined;
}

/** The one spelling of a name: its NFC form (printable ASCII as is, without a call). */
export function nfc(s: string): string {
  return isPlainAscii(s) ? s : s.normalize('NFC');
}

/** Whether `s` is a name as the fast path may take it unchanged: acceptable, and already in NFC. */
export function isCleanName(s: string): boolean {
  return isPlainAscii(s) || (loneSurrogateAt(s) === -1 && !INVISIBLE.test(s) && s.normalize('NFC') === s);
}
