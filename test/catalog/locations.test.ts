import { describe, expect, it } from 'vitest';
import {
  type CertificatePlacementRow,
  type EntityLocationRow,
  Locations,
} from '../../src/catalog/locations.js';
import { fnv1a } from '../../src/runtime/fnv1a.js';

/** Ids known to have the same 32-bit FNV-1a hash (found by a search of ~2.4M ids of this shape). */
const collidingCeIds = ['ce_0000000000000000000093vu', 'ce_00000000000000000000gtea'] as const;
const collidingCertIds = ['cert_0000000000000000000133zx', 'cert_00000000000000000001epad'] as const;

describe('document locations held in memory', () => {
  it('finds every entity and certificate among many, colliding hashes included, through the check its caller makes', () => {
    const [ceA, ceB] = collidingCeIds;
    const [certA, certB] = collidingCertIds;
    expect(fnv1a(ceA)).toBe(fnv1a(ceB));
    expect(fnv1a(certA)).toBe(fnv1a(certB));
    const ceIds = [ceA, ceB, ...Array.from({ length: 5_000 }, (_, i) => `ce_entity_${i}`)];
    // Entity n's document is at 1,000 n and 900 bytes long; its certificates follow from byte 100.
    const entityRows: EntityLocationRow[] = ceIds.map((ceId, i) => [i + 1, ceId, (i + 1) * 1_000, 900, 0]);
    const certIds = [certA, certB, ...Array.from({ length: 12_000 }, (_, i) => `cert_${i}`)];
    const certificateRows: CertificatePlacementRow[] = certIds.map((certId, i) => [
      certId,
      (i % ceIds.length) + 1,
      100 + (i % 7) * 100,
      50,
    ]);
    const locations = Locations.fromRows(entityRows, entityRows.length, entityRows.length, certificateRows);

    // The caller's check, as the catalog reads the bytes and compares their start with the id.
    const entityAt = new Map(entityRows.map(([entityId, ceId]) => [entityId, ceId]));
    ceIds.forEach((ceId, i) => {
      const found = locations.findEntity(ceId, (entityId) =>
        entityAt.get(entityId) === ceId ? entityId : undefined,
      );
      expect(found).toBe(i + 1);
      expect(locations.documentAt(i + 1)).toBe((i + 1) * 1_000);
    });
    const certificateAt = new Map(
      certificateRows.map(([certId, entityId, start]) => [entityId * 1_000 + start, certId]),
    );
    certIds.forEach((certId, i) => {
      const [, entityId, start] = certificateRows[i] as CertificatePlacementRow;
      const found = locations.findCertificate(certId, (at, length) =>
        certificateAt.get(at) === certId && length === 50 ? at : undefined,
      );
      expect(found).toBe(entityId * 1_000 + start);
    });
    expect(locations.findEntity('ce_unknown', () => 'wrong')).toBeUndefined();
    expect(locations.findCertificate('cert_unknown', () => 'wrong')).toBeUndefined();
  });

  it('passes over a certificate placement that points past the end of its entity document', () => {
    const locations = Locations.fromRows([[1, 'ce_a', 5_000, 300, 0]], 1, 1, [
      ['cert_inside', 1, 100, 200],
      ['cert_past_the_end', 1, 250, 100],
    ]);
    expect(locations.findCertificate('cert_inside', (at, length) => [at, length])).toEqual([5_100, 200]);
    expect(locations.findCertificate('cert_past_the_end', (at, length) => [at, length])).toBeUndefined();
  });
});
