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
  return post(path, 'application/json', JSON.stringify(value));
}

export async function postBytes(path, bytes) {
  return post(path, 'application/octet-stream', bytes);
}

// post sends body as contentType with the CSRF header.
async function post(path, contentType, body) {
  return parse(
    await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': contentType, 'X-Cohesix-UI': '1' },
      body,
    }),
  );
}
