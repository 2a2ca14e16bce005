/**
 * Members of the spill index name the hop and its model's queue: the spill
 * pass must find the waiting hop in the right queue. The model is
 * URI-encoded, so it holds no space.
 */
export function spillMember(model: string, hopId: string): string {
  return `${encodeURIComponent(model)} ${hopId}`;
}

export function parseSpillMember(member: string): { model: string; hopId: string } | undefined {
  const space = member.indexOf(' ');
  if (space <= 0) return undefined;
  return { model: decodeURIComponent(member.slice(0, space)), hopId: member.slice(space + 1) };
}
