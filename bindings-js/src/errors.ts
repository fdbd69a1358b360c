/**
 * Errors of the host layer. They have the same shape as the binding's (`name` "PaywireError",
 * a stable snake_case `code`, a `message`), so callers match on `code` alone.
 */
export class PaywireError extends Error {
  /** The stable code (see the core's error table). */
  readonly code: string;
  /** Structured details, when there are any (a policy's rejections, a provider's 402). */
  readonly details: unknown;

  constructor(code: string, message: string, details?: unknown) {
    super(message);
    this.name = "PaywireError";
    this.code = code;
    this.details = details;
  }
}

/** Whether `error` carries a Paywire code (thrown by the binding or by the host layer). */
export function isPaywireError(error: unknown): error is Error & { code: string } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "string";
}
