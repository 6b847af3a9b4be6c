// Least request: P2C on in-flight requests. Load = (in-flight + 1) / weight, so when both candidates are idle
// the heavier one wins, and under load in-flight settles in proportion to weight.

import { type InFlight, P2c } from "./p2c.ts";
import type { BalancerEndpoint } from "./types.ts";

export class LeastRequestBalancer<E extends BalancerEndpoint> extends P2c<E, InFlight> {
  readonly kind = "least-request" as const;
  protected newState(): InFlight {
    return { inflight: 0 };
  }
  protected load(s: InFlight): number {
    return s.inflight + 1;
  }
}
