import { describe, expect, it } from 'vitest';

process.env.SLUICE_TABLE ??= 'unit';
process.env.SLUICE_DATA_BUCKET ??= 'unit';
const { attachmentHeader, BoundedText, csvField, csvLine, MAX_DOWNLOAD_BYTES } = await import(
  '#core/tables/export'
);

describe('CSV fields', () => {
  it('writes numbers, booleans and plain text as they are and NULL as nothing', () => {
    expect(csvLine([1, -2.5, true, 'north', null, 12345678901234567890n])).toBe(
      '1,-2.5,true,north,,12345678901234567890\n',
    );
  });

  it('quotes commas, quotes and line breaks, doubling quotes', () => {
    expect(csvField('Kim, Minji')).toBe('"Kim, Minji"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line one\r\nline two')).toBe('"line one\r\nline two"');
  });

  it('quotes an empty string so it reads back apart from NULL', () => {
    expect(csvField('')).toBe('""');
    expect(csvField(undefined)).toBe('');
  });
});

describe('the download bound', () => {
  it('counts text as it travels in the function answer, escapes included', () => {
    const out = new BoundedText(10, 'hint');
    out.append('"\n"\n'); // 8 bytes once escaped
    expect(() => out.append('x')).not.toThrow();
    expect(() => out.append('yz')).toThrow(expect.objectContaining({ status: 413 }));
  });

  it('answers 413 naming the limit and the way out', () => {
    const out = new BoundedText(4, 'Download it in pages.');
    expect(() => out.append('hello')).toThrow(/larger than 4 bytes.*Download it in pages\./);
  });

  it('keeps what fits, in order', () => {
    const out = new BoundedText(MAX_DOWNLOAD_BYTES, '');
    out.append('a,b\n');
    out.append('1,2\n');
    expect(out.text()).toBe('a,b\n1,2\n');
  });

  it('stays below the 6 MB a Lambda may answer', () => {
    expect(MAX_DOWNLOAD_BYTES).toBeLessThan(6 * 1024 * 1024);
  });
});

describe('attachment names', () => {
  it('gives an ASCII name and the UTF-8 one', () => {
    expect(attachmentHeader('교통량 (2026)', 'csv')).toBe(
      `attachment; filename="_____2026_.csv"; filename*=UTF-8''%EA%B5%90%ED%86%B5%EB%9F%89%20%282026%29.csv`,
    );
  });
});
