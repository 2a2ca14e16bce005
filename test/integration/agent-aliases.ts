/**
 * The aliases the API-surface tests (Responses, Anthropic, the AI SDK) run
 * against: a tools-capable GPU model falling back to Gemini, and Gemini alone.
 */
export const AGENT_ALIASES = `version: 1
default: mana/agent-gpu
models:
  ollama/qwen3:8b: { kind: chat, capabilities: [tools, vision, structured_output] }
  google/gemini-2.0-flash: { kind: chat, capabilities: [tools, vision, structured_output] }
aliases:
  mana/agent-gpu:
    chain: [ollama/qwen3:8b, google/gemini-2.0-flash]
  mana/agent-gemini:
    chain: [google/gemini-2.0-flash]
`;
