/**
 * Drizzle puts a failed query's parameters into its error's message (a victim's phone number, a token
 * hash): before such an error is logged, or leaves an activity for the workflow's history, it keeps
 * the query and loses the values.
 */
export function withoutQueryParams<E>(error: E): E {
  for (
    let e: unknown = error, depth = 0;
    e && typeof e === 'object' && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const failed = e as { query?: unknown; params?: unknown; message?: string; stack?: string };
    if (typeof failed.query !== 'string' || !('params' in failed)) continue;
    const message = `Failed query: ${failed.query}`;
    if (failed.stack && failed.message)
      failed.stack = failed.stack.replace(failed.message, `${message}\nparams: (withheld)`);
    failed.message = `${message}\nparams: (withheld)`;
    delete failed.params;
  }
  return error;
}
