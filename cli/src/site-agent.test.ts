import { ClientError, Status } from 'nice-grpc';
import { describe, expect, it } from 'vitest';
import { describeGrpcError, shortDetails } from './site-agent.js';

describe('describeGrpcError', () => {
  it("keeps grpc-js's last connect error, not its wrapping", () => {
    const details =
      'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:50062. Resolution note: ';
    expect(shortDetails(details)).toBe('connect ECONNREFUSED 127.0.0.1:50062');
    expect(
      describeGrpcError(
        new ClientError('/ccfed.site.v1.SiteAgent/GetStatus', Status.UNAVAILABLE, details),
        2_000,
      ),
    ).toBe('UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:50062');
  });

  it('leaves other details as they are', () => {
    expect(
      describeGrpcError(
        new ClientError(
          '/x',
          Status.INVALID_ARGUMENT,
          'reason is 300 characters long; at most 200 allowed',
        ),
        2_000,
      ),
    ).toBe('INVALID_ARGUMENT: reason is 300 characters long; at most 200 allowed');
  });

  it('names the deadline when the call was aborted', () => {
    const abort = new Error('The operation has been aborted');
    abort.name = 'AbortError';
    expect(describeGrpcError(abort, 2_000)).toBe('no answer within 2s');
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(describeGrpcError(timeout, 2_000)).toBe('no answer within 2s');
  });
});
