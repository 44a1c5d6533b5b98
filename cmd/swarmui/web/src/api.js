// Thin fetch wrappers for the SwarmUI server contract (docs/SWARMUI.md).
// Every POST carries X-Cohesix-UI: 1 (the server's CSRF guard). The session
// lives in an HttpOnly cookie; the page never stores the ticket.

async function parse(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const words = body && body.error ? body.error : `HTTP ${res.status}`;
    const err = new Error(words);
    err.status = res.status;
    throw err;
  }
  return body;
}

export async function getJSON(path) {
  return parse(await fetch(path, { credentials: 'same-origin', cache: 'no-store' }));
}

export async function postJSON(path, value) {
  return parse(
    await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-Cohesix-UI': '1' },
      body: JSON.stringify(value),
    }),
  );
}

export async function postBytes(path, bytes) {
  return parse(
    await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/octet-stream', 'X-Cohesix-UI': '1' },
      body: bytes,
    }),
  );
}
