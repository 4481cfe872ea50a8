/**
 * XML building blocks shared by every response: CDATA and text escaping, the preamble (declaration +
 * DOCTYPE naming the request host, API doc §2-4), SIMPLE_RETURN error documents (§5) and the echoed
 * REQUEST block. Documents are built as strings; callers stream them piece by piece.
 */

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" ?>\n';

/**
 * Wraps text in CDATA (Qualys sends free text as CDATA, §2). A `]]>` inside the text would end the
 * section early, so it is split across two sections, which is the standard, lossless encoding.
 */
export function cdata(text: string): string {
  if (text.indexOf(']]>') < 0) return `<![CDATA[${text}]]>`;
  return `<![CDATA[${text.split(']]>').join(']]]]><![CDATA[>')}]]>`;
}

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Escapes text for element content or attribute values. */
export function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

export function doctype(root: string, requestHost: string, dtdPath: string): string {
  return `<!DOCTYPE ${root} SYSTEM "http://${requestHost}${dtdPath}">\n`;
}

export interface RequestEcho {
  datetime: string;
  userLogin: string;
  resource: string;
  params: readonly (readonly [string, string])[];
  postData?: string;
}

/**
 * The REQUEST block emitted with `echo_request=1`. Model [I] (doc lists the element, not its
 * content): REQUEST (DATETIME, USER_LOGIN, RESOURCE, PARAM_LIST?, POST_DATA?), PARAM (KEY, VALUE).
 */
export function requestEchoXml(echo: RequestEcho, indent: string): string {
  const i1 = indent + '  ';
  const i2 = i1 + '  ';
  const i3 = i2 + '  ';
  let out = `${indent}<REQUEST>\n${i1}<DATETIME>${echo.datetime}</DATETIME>\n`;
  out += `${i1}<USER_LOGIN>${cdata(echo.userLogin)}</USER_LOGIN>\n`;
  out += `${i1}<RESOURCE>${cdata(echo.resource)}</RESOURCE>\n`;
  if (echo.params.length > 0) {
    out += `${i1}<PARAM_LIST>\n`;
    for (const [key, value] of echo.params) {
      out += `${i2}<PARAM>\n${i3}<KEY>${cdata(key)}</KEY>\n${i3}<VALUE>${cdata(value)}</VALUE>\n${i2}</PARAM>\n`;
    }
    out += `${i1}</PARAM_LIST>\n`;
  }
  if (echo.postData !== undefined) out += `${i1}<POST_DATA>${cdata(echo.postData)}</POST_DATA>\n`;
  return out + `${indent}</REQUEST>\n`;
}

export interface SimpleReturn {
  datetime: string;
  code?: number;
  text: string;
  items?: readonly (readonly [string, string | number])[];
}

/**
 * A SIMPLE_RETURN document: `SIMPLE_RETURN (REQUEST?, RESPONSE)`, `RESPONSE (DATETIME, CODE?, TEXT,
 * ITEM_LIST?)`. The real capture (§5, S2-har) has no XML declaration, only the DOCTYPE, and TEXT is
 * plain escaped text, not CDATA.
 */
export function simpleReturnXml(requestHost: string, ret: SimpleReturn): string {
  let out = doctype('SIMPLE_RETURN', requestHost, '/api/2.0/simple_return.dtd');
  out += `<SIMPLE_RETURN>\n  <RESPONSE>\n    <DATETIME>${ret.datetime}</DATETIME>\n`;
  if (ret.code !== undefined) out += `    <CODE>${ret.code}</CODE>\n`;
  out += `    <TEXT>${escapeText(ret.text)}</TEXT>\n`;
  if (ret.items && ret.items.length > 0) {
    out += '    <ITEM_LIST>\n';
    for (const [key, value] of ret.items) {
      out += `      <ITEM>\n        <KEY>${escapeText(key)}</KEY>\n        <VALUE>${escapeText(String(value))}</VALUE>\n      </ITEM>\n`;
    }
    out += '    </ITEM_LIST>\n';
  }
  return out + '  </RESPONSE>\n</SIMPLE_RETURN>\n';
}
