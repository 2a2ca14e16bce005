/** Where the CLI finds the gateway, and with which keys: flags first, then the environment. */
export interface GatewayTarget {
  url: string;
  apiKey: string | undefined;
  adminKey: string | undefined;
}

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** One HTTP call to the gateway; an error answer becomes a GatewayError with the gateway's own message. */
export async function call(target: GatewayTarget, method: string, path: string, options: { admin?: boolean; body?: unknown } = {}): Promise<unknown> {
  const key = options.admin ? target.adminKey : target.apiKey;
  let response: Response;
  try {
    response = await fetch(`${target.url}${path}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(options.body ? { 'content-type': 'application/json' } : {}) },
      body: options.body ? JSON.stringify(options.body) : undefined,
    });
  } catch (err) {
    throw new GatewayError(
      0,
      `cannot reach the gateway at ${target.url} (${(err as Error).cause ? String((err as { cause: { code?: string } }).cause.code) : (err as Error).message}); set --url or MANA_URL`,
    );
  }
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) {
    const message = (body as { error?: { message?: string } } | undefined)?.error?.message ?? text;
    throw new GatewayError(response.status, `${response.status}: ${message}`);
  }
  return body;
}
