/**
 * Look-alike keys (issue 11, item 8): one identity spelled so that it counts as several, which keeps
 * an attacker under every threshold. Spellings that differ only by Unicode normalisation (NFC and
 * NFD) are accepted and count as one key; keys with control or invisible format characters are
 * quarantined. (Lone surrogates are left to the unit tests: the event log cannot carry them.)
 */
import type { GeneratedRecord } from '../generate.ts';
import type { Random } from '../random.ts';
import type { StreamSpan } from './index.ts';
import { IOT_TELEMETRY, USER_EVENTS, USER_REGISTRATIONS } from '../../../lib/pipelines/topics.ts';

export function lookAlikeKeyRecords(rng: Random, span: StreamSpan): GeneratedRecord[] {
  const out: GeneratedRecord[] = [];
  const at = () => Math.floor(rng.between(span.startMs, span.endMs));
  for (let n = 0; n < 6; n++) {
    const t = at();
    // One user, one device, one city, each sent in both normal forms: one key, one device, one city.
    const nfc = `jos\u00e9-${n}`;
    const nfd = nfc.normalize('NFD');
    for (const [id, device, city] of [
      [nfc, `caf\u00e9-${n}`, 'S\u00e3o Paulo'],
      [nfd, `caf\u00e9-${n}`.normalize('NFD'), 'S\u00e3o Paulo'.normalize('NFD')],
      [nfd, `caf\u00e9-${n}`, 'Sa\u0303o Paulo'],
    ] as const) {
      out.push({ topic: USER_EVENTS, key: id, value: JSON.stringify({ user_id: id, action: 'login', device_id: device, location_city: city, timestamp: t }), eventTime: t });
    }
    const ip = `198.51.100.${200 + n}`;
    out.push({ topic: USER_REGISTRATIONS, key: ip, value: JSON.stringify({ user_id: `r\u00e9-${n}`, ip, timestamp: t }), eventTime: t });
    out.push({ topic: USER_REGISTRATIONS, key: ip, value: JSON.stringify({ user_id: `r\u00e9-${n}`.normalize('NFD'), ip, timestamp: t }), eventTime: t });
    out.push({ topic: IOT_TELEMETRY, key: null, value: JSON.stringify({ device_id: `capteur-\u00e9${n}`.normalize('NFD'), temperature: 20, humidity: 50, timestamp: t }), eventTime: t });
  }
  const refused: [string, string][] = [
    ['admin\u200b', 'zero-width space'],
    ['\u200badmin', 'leading zero-width space'],
    ['ad\u200dmin', 'zero-width joiner'],
    ['adm\u00adin', 'soft hyphen'],
    ['\u202eadmin', 'right-to-left override'],
    ['admin\ufeff', 'byte-order mark inside'],
    ['admin\u0007', 'control character BEL'],
    ['admin\t', 'tab'],
    ['admin\u0085', 'C1 control NEL'],
  ];
  refused.forEach(([suffix, why], n) => {
    const t = at();
    const user = `${972_000_000 + n}${suffix}`;
    out.push({ topic: USER_EVENTS, key: null, value: JSON.stringify({ user_id: user, action: 'payment', amount: 1, timestamp: t }), malformed: `hostile: user_id with ${why}`, eventTime: undefined });
    const ip = `198.51.100.${100 + n}${suffix}`;
    out.push({ topic: USER_REGISTRATIONS, key: null, value: JSON.stringify({ user_id: 972_100_000 + n, ip, timestamp: t }), malformed: `hostile: ip with ${why}`, eventTime: undefined });
    out.push({ topic: USER_EVENTS, key: null, value: JSON.stringify({ user_id: 972_200_000 + n, action: 'login', location_city: `Paris${suffix}`, timestamp: t }), malformed: `hostile: city with ${why}`, eventTime: undefined });
  });
  return out;
}
