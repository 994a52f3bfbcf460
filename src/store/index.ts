// The store's face to the rest of the package: the byte format, the per-process writable files,
// the defensive reader and what a directory says about its processes.
export {
  ARCHIVE_OWNER,
  EXEMPLAR_EXTENSION,
  HEADER_BYTES,
  MAX_KEY_BYTES,
  METRIC_TYPES,
  NATIVE_HISTOGRAM_ARCHIVE,
  NATIVE_HISTOGRAM_EXTENSION,
  archiveFileName,
  archiveFileNameOf,
  claimFileName,
  decodeKey,
  encodeAppName,
  encodeArchive,
  encodeKey,
  exemplarFileNameFor,
  fileNameFor,
  fileNameOf,
  floatToGoString,
  hasMetricFileExtension,
  isMetricType,
  originalFileName,
  parseEntries,
  parseFileName,
  sketchArchiveFileName,
} from './format';
export type { DecodedKey, EntryValue, FileKind, FileName, FileType, MetricType } from './format';
export {
  AGGREGATOR_GAUGE_MODES,
  ARCHIVE_GAUGE_MODES,
  DEFAULT_GAUGE_MODE,
  GAUGE_MODES,
  GAUGE_MODE_TRAITS,
  PYTHON_GAUGE_MODES,
  isGaugeMode,
  reductionOf,
} from './gauge-modes';
export type { ArchiveGaugeMode, GaugeMode, GaugeModeTraits, Reduction, Stamp } from './gauge-modes';
export { LABEL_NAME_PATTERN, METRIC_NAME_PATTERN, familyNameOf, isReservedLabelName } from './names';
export {
  DEFAULT_MAX_BUCKETS,
  DEFAULT_ZERO_THRESHOLD,
  MAX_SCHEMA,
  MIN_SCHEMA,
  bucketIndex,
  bucketsOfSpans,
  lowerIndex,
  mergedZeroBucket,
  schemaForFactor,
  spansAndDeltas,
  upperBound,
} from './native-buckets';
export type { BucketSpan, NativeHistogram } from './native-buckets';
export { NATIVE_RESERVED_LABELS, NativeFileSeries, NativeSeriesLayout, bucketKey, parseNativeKey, seriesKey, sumKey } from './native-format';
export type { EntryKey, NativeKey, SeriesKey } from './native-format';
export { nativeSeries } from './native-series';
export type { NativeSeries, NativeSeriesOptions } from './native-series';
export { ProcessStore } from './process-store';
export {
  LABELS_BAD_NAME,
  LABELS_BAD_VALUE,
  LABELS_NOT_AN_OBJECT,
  LABELS_TOO_LONG,
  MAX_EXEMPLAR_CODE_POINTS,
  checkExemplarLabels,
  encodeExemplarArchive,
  exemplarCodePoints,
  exemplarIsLater,
  readExemplarSlot,
} from './exemplar-format';
export type { Exemplar, ExemplarEntry, ExemplarFileType, ExemplarLabels } from './exemplar-format';
export type { ExemplarLog, HeldExemplar } from './exemplar-log';
export { ExemplarFileReader, readWholeExemplarFile } from './exemplar-reader';
export type { ExemplarFileContents, ExemplarReadResult } from './exemplar-reader';
export type { ProcessStoreOptions } from './process-store';
export type { BackendKind, MetricFile } from './backends/metric-file';
export { defaultBackend } from './backends/loader';
export { KeyIndex } from './key-index';
export { MetricFileReader, ReadBuffer, entryKey, readMetricFile } from './reader';
export {
  FLAG_MIRRORED,
  FLAG_PRUNE_AGED_BUCKETS,
  MAX_SKETCH_BLOCKS,
  MAX_SKETCH_KEY,
  MAX_SKETCH_PERCENTILES,
  SKETCH_BINS,
  SKETCH_RELATIVE_ACCURACY,
  encodeSketchArchive,
  isSketchSampleName,
  sketchKeyOf,
  sketchUpperEdge,
  sketchValueOf,
} from './sketch-format';
export type { SketchArchiveRecord, SketchBlockData, SketchBlockView, SketchRecordHeader } from './sketch-format';
export { SketchSum } from './sketch-quantiles';
export { SeriesSketch, SnapshotSketch } from './sketch-writer';
export type { SketchSeries, SketchWindows } from './sketch-writer';
export { SketchFileReader } from './sketch-reader';
export type { SketchReadResult, SketchRecordRead } from './sketch-reader';
export type { FileContents, ReadResult } from './reader';
export { archiveNameOf, readArchiveGeneration, readWholeFile, withoutAbsorbedClaims } from './archive';
export {
  checkDirectory,
  isAlive,
  isOwnerAlive,
  isProcessAlive,
  markProcessDead,
  pidsOwningFiles,
  refuseWorldWritable,
  removeOrphanOwnerRecords,
  wipeIfStale,
} from './directory';
export {
  ownerRecordFromEnvironment,
  ownerRecordName,
  pidOfOwnerRecord,
  processStartTicks,
  readOwnerRecord,
  writeOwnerRecordIfAbsent,
} from './owner-record';
export { AppAttribution } from './app-attribution';
export type { OwnerRecord } from './owner-record';
