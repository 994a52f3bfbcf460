// Compaction of exemplar files: a dead process's `counter_PID.exemplars` is claimed and folded
// into `counter_archive[@APP].exemplars` like its .db file, keeping per key the latest exemplar
// (the merge's own order). Latest-wins is idempotent, so a claim read beside the archive that
// already holds it (by a scrape, or a compaction killed before deleting it) changes nothing.

import { encodeExemplarArchive, exemplarIsLater, readWholeExemplarFile } from '../store';
import type { Exemplar } from '../store';

export class ExemplarFold {
  private readonly latest = new Map<string, Exemplar>();

  addFile(filePath: string): void {
    for (const { key, exemplar } of readWholeExemplarFile(filePath)) {
      const kept = this.latest.get(key);
      if (kept === undefined || exemplarIsLater(exemplar, kept)) this.latest.set(key, exemplar);
    }
  }

  encode(generation: number): Buffer {
    return encodeExemplarArchive([...this.latest].map(([key, exemplar]) => ({ key, exemplar })), generation);
  }
}
