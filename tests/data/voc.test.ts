// lib/data/voc.ts: VOCDetection over a small VOCdevkit written here (XML as VOC writes it,
// JPEGs by sharp): targets, drops, malformed files, workers.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { ArgumentError, data, FormatError } from '../../lib/index.js';

const root = mkdtempSync(join(tmpdir(), 'neocog-voc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const voc = join(root, 'VOCdevkit', 'VOC2007');

interface VocObject {
  name: string;
  box: [number | string, number | string, number | string, number | string];
  difficult?: 0 | 1;
}

/** An annotation as the VOC devkit writes it (declaration-free, indented, with fields we ignore). */
function xml(id: string, width: number, height: number, objects: VocObject[]): string {
  const object = ({ name, box: [x1, y1, x2, y2], difficult = 0 }: VocObject) =>
    `\t<object>\n\t\t<name>${name}</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n\t\t<difficult>${difficult}</difficult>\n` +
    `\t\t<bndbox>\n\t\t\t<xmin>${x1}</xmin>\n\t\t\t<ymin>${y1}</ymin>\n\t\t\t<xmax>${x2}</xmax>\n\t\t\t<ymax>${y2}</ymax>\n\t\t</bndbox>\n\t</object>\n`;
  return (
    `<annotation>\n\t<folder>VOC2007</folder>\n\t<filename>${id}.jpg</filename>\n\t<source>\n\t\t<database>The VOC2007 Database</database>\n\t</source>\n` +
    `\t<size>\n\t\t<width>${width}</width>\n\t\t<height>${height}</height>\n\t\t<depth>3</depth>\n\t</size>\n\t<segmented>0</segmented>\n${objects.map(object).join('')}</annotation>\n`
  );
}

function writeSet(name: string, ids: string[]): void {
  writeFileSync(join(voc, 'ImageSets', 'Main', `${name}.txt`), ids.join('\n') + '\n');
}

async function writeImage(id: string, width: number, height: number): Promise<void> {
  const bytes = Buffer.alloc(width * height * 3, 0);
  for (let p = 0; p < width * height; ++p) bytes.set([(p * 5) % 256, 128, 30], p * 3);
  await sharp(bytes, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toFile(join(voc, 'JPEGImages', `${id}.jpg`));
}

const annotation = (id: string, text: string) => writeFileSync(join(voc, 'Annotations', `${id}.xml`), text);

beforeAll(async () => {
  for (const dir of ['Annotations', 'JPEGImages', join('ImageSets', 'Main')]) mkdirSync(join(voc, dir), { recursive: true });
  annotation('000005', xml('000005', 20, 12, [{ name: 'dog', box: [2, 3, 10, 11] }, { name: 'person', box: [5, 1, 5, 4], difficult: 1 }]));
  // x past the right edge is clipped; the second box is inverted (dropped), the third wholly outside (dropped once clipped)
  annotation('000007', xml('000007', 16, 16, [{ name: 'tvmonitor', box: [4, 0, 30, 16] }, { name: 'cat', box: [9, 9, 3, 12] }, { name: 'cat', box: [20, 2, 25, 5] }]));
  annotation('000009', xml('000009', 8, 10, []));
  for (const [id, w, h] of [['000005', 20, 12], ['000007', 16, 16], ['000009', 8, 10]] as const) await writeImage(id, w, h);
  writeSet('train', ['000005', '000007', '000009']);
  writeSet('val', ['000009', '000005']);
});

it('reads the set in list order: boxes as VOC gives them (clipped), labels 1..20, difficult', async () => {
  const dataset = new data.VOCDetection(root, { year: '2007' });
  expect(dataset.length).toBe(3);
  expect(dataset.ids).toEqual(['000005', '000007', '000009']);
  expect(dataset.vocRoot).toBe(voc);
  const [image, target] = await dataset.get(0);
  expect(image.dtype).toBe('float32');
  expect(image.shape).toEqual([3, 12, 20]);
  expect(target.imageId).toBe('000005');
  expect(target.boxes.tolist()).toEqual([
    [2, 3, 10, 11],
    [5, 1, 5, 4], // one pixel wide: VOC corners are inclusive
  ]);
  expect(target.labels.dtype).toBe('int32');
  expect(target.labels.tolist()).toEqual([data.VOC_CLASSES.indexOf('dog') + 1, data.VOC_CLASSES.indexOf('person') + 1]);
  expect(target.labels.tolist()).toEqual([12, 15]);
  expect(target.difficult.dtype).toBe('uint8');
  expect(target.difficult.tolist()).toEqual([0, 1]);

  const [, clipped] = await dataset.get(1);
  expect(clipped.boxes.tolist()).toEqual([[4, 0, 16, 16]]);
  expect(clipped.labels.tolist()).toEqual([20]);
  const [, empty] = await dataset.get(2);
  expect(empty.boxes.shape).toEqual([0, 4]);
  expect(new data.VOCDetection(root, { year: '2007', imageSet: 'val' }).ids).toEqual(['000009', '000005']);
});

it('lists dropped objects with their file and index', () => {
  const dataset = new data.VOCDetection(root, { year: '2007' });
  const file = join(voc, 'Annotations', '000007.xml');
  expect(dataset.dropped).toEqual([
    { file, object: 1, reason: 'degenerate box' },
    { file, object: 2, reason: 'outside the image' },
  ]);
});

it('drops boxes wholly outside the image on every side, and clips those that reach out, counting each drop', () => {
  const file = join(root, 'sides.xml');
  writeFileSync(
    file,
    xml('sides', 20, 12, [
      { name: 'dog', box: [21, 2, 25, 5] }, // right of the image
      { name: 'dog', box: [2, 13, 5, 15] }, // below
      { name: 'dog', box: [-6, 2, -1, 5] }, // left
      { name: 'dog', box: [2, -7, 5, -2] }, // above
      { name: 'dog', box: [-3, -2, 25, 30] }, // over every edge: clipped to the image
      { name: 'dog', box: [4, 9, 6, 3] }, // ymax < ymin
    ]),
  );
  const dropped: data.DroppedVocObject[] = [];
  const image = data.readVocAnnotation(file, data.VOC_CLASSES, dropped);
  expect(image.boxes).toEqual([0, 0, 20, 12]);
  expect(image.labels).toEqual([12]);
  expect(dropped).toEqual([
    { file, object: 0, reason: 'outside the image' },
    { file, object: 1, reason: 'outside the image' },
    { file, object: 2, reason: 'outside the image' },
    { file, object: 3, reason: 'outside the image' },
    { file, object: 5, reason: 'degenerate box' },
  ]);
});

it('takes its own classes', async () => {
  // With what other tools write into VOC files: a declaration, a comment, attributes, an empty element, CDATA.
  const text = xml('100001', 8, 10, [{ name: 'widget', box: [1, 1, 4, 4] }, { name: 'gadget', box: [2, 2, 3, 3] }])
    .replace('<annotation>', '<?xml version="1.0" encoding="utf-8"?>\n<!-- labelImg -->\n<annotation verified="yes">')
    .replace('<segmented>0</segmented>', '<segmented/>')
    .replace('<name>gadget</name>', '<name><![CDATA[gadget]]></name>');
  annotation('100001', text);
  await writeImage('100001', 8, 10);
  writeSet('trainval', ['100001']);
  const dataset = new data.VOCDetection(root, { year: '2007', imageSet: 'trainval', classes: ['gadget', 'widget'] });
  expect((await dataset.get(0))[1].labels.tolist()).toEqual([2, 1]);
  expect(() => new data.VOCDetection(root, { year: '2007', imageSet: 'trainval' })).toThrow(/object 0: expected <name> among 20 classes .* got "widget"/);
});

it('batches the same in-process and on 2 workers, with transforms', async () => {
  const transforms = { module: new URL('./image_transforms.fixture.ts', import.meta.url).href, exportName: 'shiftBoxes', args: { factor: 1, shift: 2 } };
  const dataset = new data.VOCDetection(root, { year: '2007', transforms });
  const run = async (numWorkers: number) => {
    const out = [];
    for await (const [images, targets] of new data.DataLoader(dataset, { batchSize: 2, shuffle: true, seed: 1, numWorkers, collate: data.detectionCollate })) {
      for (const [i, t] of targets.entries()) out.push([t.imageId, await images[i]!.data(), t.boxes.tolist(), t.labels.tolist(), t.difficult.tolist()]);
    }
    return out;
  };
  const inProcess = await run(0);
  expect(inProcess.find(([id]) => id === '000005')![2]).toEqual([
    [4, 3, 12, 11],
    [7, 1, 7, 4],
  ]);
  expect(await run(2)).toEqual(inProcess);
});

it('malformed or incomplete annotations are FormatErrors naming the file', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['200001', '<annotation><size><width>4</width><height>4</height></size><object><name>dog</name></annotation>', /malformed XML: expected <\/object>, got <\/annotation>/],
    ['200002', '<annotation><size><width>4</width><height>4</height></size>', /malformed XML: element <annotation> is never closed/],
    ['200003', '<annotation></annotation><annotation></annotation>', /malformed XML: expected one root element, got 2/],
    ['200004', '<doc><size><width>4</width><height>4</height></size></doc>', /expected root element <annotation>, got <doc>/],
    ['200005', xml('200005', 4, 4, []).replace('<width>4</width>', ''), /expected <size><width> to be an integer, got no element/],
    ['200006', xml('200006', 4, 4, [{ name: 'dog', box: [1, 'one', 3, 3] }]), /expected object 0 <bndbox><ymin> to be a number, got "one"/],
    ['200007', xml('200007', 4, 4, [{ name: 'dog', box: [1, 1, 3, 3] }]).replace(/<bndbox>[\s\S]*<\/bndbox>/, ''), /object 0 \(dog\): expected a <bndbox>/],
    ['200008', xml('200008', 4, 4, [{ name: 'dog', box: [1, 1, 3, 3] }, { name: 'unicorn', box: [1, 1, 3, 3] }]), /object 1: expected <name> among 20 classes .* got "unicorn"/],
    ['200009', xml('200009', 0, 4, []), /expected a positive <size>, got 0x4/],
    ['200010', '<annotation><size><width>4</width><height>4</height></size></annotation> <', /malformed XML: unexpected markup "<"/],
  ];
  for (const [id, text, message] of cases) {
    annotation(id, text);
    writeSet('test', [id]);
    const file = join(voc, 'Annotations', `${id}.xml`);
    expect(() => new data.VOCDetection(root, { year: '2007', imageSet: 'test' }), id).toThrow(FormatError);
    expect(() => new data.VOCDetection(root, { year: '2007', imageSet: 'test' }), id).toThrow(message);
    expect(() => new data.VOCDetection(root, { year: '2007', imageSet: 'test' }), id).toThrow(`VOCDetection: ${file}: `);
  }
  writeSet('test', ['000005', 'missing']);
  expect(() => new data.VOCDetection(root, { year: '2007', imageSet: 'test' })).toThrow(/missing\.xml: cannot read the annotation/);
});

it('says what it expected of the folder and the options; a JPEG of another size is a FormatError', async () => {
  expect(() => new data.VOCDetection(root)).toThrow(ArgumentError); // no VOC2012
  expect(() => new data.VOCDetection(root)).toThrow(/expected root\/VOCdevkit\/VOC2012\/ImageSets\/Main\/train\.txt/);
  expect(() => new data.VOCDetection(root, { year: '2007', imageSet: 'minival' as 'val' })).toThrow(/expected imageSet 'train', 'val', 'trainval' or 'test', got "minival"/);
  expect(() => new data.VOCDetection(root, { year: '2007', classes: [] })).toThrow(/non-empty array of class names/);

  annotation('300001', xml('300001', 9, 9, []));
  await writeImage('300001', 8, 9);
  writeSet('test', ['300001']);
  const dataset = new data.VOCDetection(root, { year: '2007', imageSet: 'test' });
  await expect(dataset.get(0)).rejects.toThrow(FormatError);
  await expect(dataset.get(0)).rejects.toThrow(/300001\.jpg is 8x9, but Annotations\/300001\.xml gives its <size> as 9x9/);
  await expect(dataset.get(1)).rejects.toThrow(/index 1 is out of range for 1 images/);
});
