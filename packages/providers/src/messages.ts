import type { ChatMessage, ContentPart } from './types.js';

/** The text parts of a message, joined; the form providers without parts need. */
export function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  return content
    .filter((p): p is Extract<ContentPart, { type: 'text' }> => p.type === 'text')
    .map((p) => p.text)
    .join('\n');
}

export function imagesOf(content: ChatMessage['content']): Array<Extract<ContentPart, { type: 'image' }>> {
  if (typeof content === 'string') return [];
  return content.filter((p): p is Extract<ContentPart, { type: 'image' }> => p.type === 'image');
}
