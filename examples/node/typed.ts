// A typed backend job over the generated types: open a deployment, show the push
// certificate dashboard, lock a user's devices, decode what devices send, follow events.
// Checked with `tsc --noEmit --strict` (scripts/node.sh); run it with a TypeScript runner.
import { Mdm, decodeCheckin, renderCommand, errorCodes } from 'mdmkit';
import type { ActionOutcome, Device, MdmEvent, PushCertStatus } from 'mdmkit';

interface MdmkitError extends Error {
  code: string;
}

function isMdmkitError(error: unknown): error is MdmkitError {
  return error instanceof Error && typeof (error as Partial<MdmkitError>).code === 'string'
    && errorCodes().includes((error as MdmkitError).code);
}

export async function dashboard(mdm: Mdm): Promise<string[]> {
  const certs: PushCertStatus[] = await mdm.pushCerts.status();
  return certs.map((c) => `${c.topic}: ${c.daysRemaining} days left${c.renewSoon ? ' — renew now' : ''} (until ${c.notAfter.toISOString()})`);
}

export async function lockAll(mdm: Mdm, owner: string, message: string): Promise<ActionOutcome[]> {
  const outcomes: ActionOutcome[] = [];
  let after: string | undefined;
  do {
    const page = await mdm.devices.list({ owner, after, limit: 100 });
    for (const device of page.devices as Device[]) {
      try {
        outcomes.push(await mdm.devices.lock(device.enrollmentId, { message }));
      } catch (error) {
        if (isMdmkitError(error) && error.code === 'not_found') continue;
        throw error;
      }
    }
    after = page.next;
  } while (after);
  return outcomes;
}

export function describeCheckin(body: Buffer): string {
  const checkin = decodeCheckin(body);
  return `${checkin.messageType} from ${checkin.enrollmentId}`;
}

export function lockCommand(message: string): Buffer {
  return renderCommand({ RequestType: 'DeviceLock', Message: message }, undefined, 'xml');
}

export async function follow(mdm: Mdm, until: (event: MdmEvent) => boolean): Promise<MdmEvent[]> {
  const seen: MdmEvent[] = [];
  for await (const event of mdm.events()) {
    seen.push(event);
    if (until(event)) break;
  }
  return seen;
}

export async function main(storeUrl: string, key: string): Promise<void> {
  const mdm: Mdm = await Mdm.open(storeUrl, { key });
  for (const line of await dashboard(mdm)) console.log(line);
}
