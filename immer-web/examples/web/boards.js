// The list of boards (`/`): each opens at its own address; editors create boards by name and
// delete them. Through the server's JSON API, with the token of the page's own address.
const token = new URLSearchParams(location.search).get('token') ?? 'ann';
const $ = (id) => document.getElementById(id);
const withToken = (path) => `${path}?token=${encodeURIComponent(token)}`;

/** Calls the API; resolves with its JSON answer, or rejects with the server's reason. */
async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 204) return null;
  const text = await response.text();
  let answer;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new Error(text || response.statusText);
  }
  if (!response.ok) throw new Error(answer.error ?? response.statusText);
  return answer;
}

function showError(error) {
  $('error').textContent = error === null ? '' : error.message;
}

function render({ user, role, boards }) {
  const editor = role === 'editor';
  $('who').textContent = `${user} (${role}) · ${boards.length} ${boards.length === 1 ? 'board' : 'boards'}`;
  $('create').hidden = !editor;
  $('boards').replaceChildren(
    ...boards.map((name) => {
      const li = document.createElement('li');
      li.dataset.name = name;
      const link = Object.assign(document.createElement('a'), { href: withToken(`/b/${encodeURIComponent(name)}`), textContent: name });
      li.append(link);
      if (editor) {
        const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Delete' });
        remove.dataset.action = 'delete';
        remove.addEventListener('click', () => act(() => api('DELETE', `/api/boards/${encodeURIComponent(name)}`)));
        li.append(remove);
      }
      return li;
    }),
  );
}

/** Shows the list as the server has it now. */
async function load() {
  render(await api('GET', '/api/boards'));
  document.body.dataset.ready = 'true';
}

/** Does `action`, then shows the list again, or the reason it was refused. */
async function act(action) {
  showError(null);
  try {
    await action();
    await load();
    return true;
  } catch (error) {
    showError(error);
    return false;
  }
}

$('create').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = $('name').value.trim();
  if (await act(() => api('POST', '/api/boards', { name }))) $('name').value = '';
});

load().catch((error) => {
  $('who').textContent = '';
  showError(error);
  document.body.dataset.ready = 'true';
});
