/** An HTTP answer other than 200, thrown by any step of a request and written by the service. */
export class HttpAnswer extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}
