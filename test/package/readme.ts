// README.md's code blocks, for the tests that run them: each is found by a marker only it
// contains, so a test runs the very text a reader copies. Every block with a language is listed
// here with the test that runs it; readme-snippets.test.ts fails on a block nobody claims.
import fs from 'node:fs';
import path from 'node:path';

const README = path.join(__dirname, '..', '..', 'README.md');

export interface CodeBlock {
  language: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export interface BlockRef {
  language: string;
  marker: string;
  /** The test that runs it, or how it is checked. */
  runBy: string;
}

const INSTALL_TEST = 'test/package/install.test.ts';
const SNIPPETS_TEST = 'test/package/readme-snippets.test.ts';

export const BLOCKS = {
  quickStart: { language: 'sh', marker: 'npm start ', runBy: `${SNIPPETS_TEST} (its npm scripts exist; .ci/run runs npm ci and npm test)` },
  appInstall: { language: 'sh', marker: 'npm install pm2-prom-multiproc', runBy: INSTALL_TEST },
  moduleInstall: { language: 'sh', marker: 'pm2 install pm2-prom-multiproc', runBy: INSTALL_TEST },
  basicAuth: { language: 'sh', marker: 'hash-password prom', runBy: INSTALL_TEST },
  tarball: { language: 'sh', marker: 'npm pack', runBy: INSTALL_TEST },
  productionEcosystem: { language: 'js', marker: "instances: 'max'", runBy: INSTALL_TEST },
  scrapeConfig: { language: 'yaml', marker: 'scrape_configs:', runBy: `${SNIPPETS_TEST} (promtool check config)` },
  metricsApi: { language: 'js', marker: 'latency.startTimer()', runBy: SNIPPETS_TEST },
  nativeHistograms: { language: 'js', marker: 'nativeHistogramBucketFactor: 1.1', runBy: SNIPPETS_TEST },
  mirrorEcosystem: { language: 'js', marker: "require.resolve('pm2-prom-multiproc/register')", runBy: INSTALL_TEST },
  clusterPrimary: { language: 'js', marker: 'serveClusterMetrics({', runBy: SNIPPETS_TEST },
  aggregatorRegistry: { language: 'js', marker: 'await registry.clusterMetrics()', runBy: SNIPPETS_TEST },
  pushgateway: { language: 'js', marker: "new Pushgateway('http://127.0.0.1:9091'", runBy: `${SNIPPETS_TEST} (a real prometheus-pushgateway)` },
  exemplars: { language: 'js', marker: 'enableExemplars: true', runBy: SNIPPETS_TEST },
  exemplarStorage: {
    language: 'sh',
    marker: '--enable-feature=exemplar-storage',
    runBy: 'test/cluster/prometheus-exemplars.test.ts (starts Prometheus with the features it names)',
  },
  development: { language: 'sh', marker: 'npm run bench', runBy: `${SNIPPETS_TEST} (its npm scripts exist)` },
} as const satisfies Record<string, BlockRef>;

/** Every fenced block of README.md that names a language. */
export function readmeBlocks(): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let open: CodeBlock | undefined;
  fs.readFileSync(README, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      const fence = /^```(\S*)\s*$/.exec(text);
      if (open !== undefined) {
        if (fence !== null && fence[1] === '') {
          if (open.language !== '') blocks.push(open);
          open = undefined;
        } else {
          open.code += `${text}\n`;
        }
      } else if (fence !== null) {
        open = { language: fence[1], code: '', line: index + 1 };
      }
    });
  return blocks;
}

export function matches(block: CodeBlock, ref: BlockRef): boolean {
  return block.language === ref.language && block.code.includes(ref.marker);
}

/** The code of the one README block `ref` names; throws when there is not exactly one. */
export function readmeBlock(ref: BlockRef): string {
  const found = readmeBlocks().filter((block) => matches(block, ref));
  if (found.length !== 1) {
    const where = found.map((block) => `line ${block.line}`).join(', ');
    throw new Error(`README.md has ${found.length} ${ref.language} blocks containing "${ref.marker}"${where ? ` (${where})` : ''}: ${ref.runBy} expects one`);
  }
  return found[0].code;
}

/** `code` with each `from` replaced by `to`; throws when one is missing (README changed: so must the test). */
export function substituted(code: string, replacements: ReadonlyArray<readonly [from: string, to: string]>): string {
  return replacements.reduce((text, [from, to]) => {
    if (!text.includes(from)) throw new Error(`the README block no longer contains "${from}":\n${code}`);
    return text.split(from).join(to);
  }, code);
}
