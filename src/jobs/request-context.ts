/** What a request carries besides its state: where it was asked for, who may approve, what the run measured. */

/** The open incident a request was made during, to link the two both ways. */
export interface IncidentLink {
  readonly channel: string;
  readonly ts: string;
  readonly openedAt: number;
  readonly permalink: string | null;
}

/** Who could approve when the request was made (the requester excluded); groups Slack would not list stay unknown. */
export interface EligibleApprovers {
  readonly users: readonly string[];
  readonly unresolvedGroups: readonly string[];
}

/** DBSIZE of one master before and after a repair (null: it did not answer). */
export interface MasterKeys {
  readonly id: string;
  readonly address: string | null;
  readonly before: number | null;
  readonly after: number | null;
}

/** What a finished run measured, kept with the request for the timeline and the postmortem. */
export interface RunSummary {
  readonly slotsBefore: number | null;
  readonly slotsAfter: number | null;
  readonly stateBefore: string | null;
  readonly stateAfter: string | null;
  readonly masters: readonly MasterKeys[];
}
