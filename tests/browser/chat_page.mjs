// The chat page's moves, shared by the chat's browser tests: log in, wait until a page is online in
// a room, say something, wait until a message shows. Read through the page's read-only window.__chat.
export const kTimeout = 20000;

export async function logIn(page, user, password = 'secret') {
  await page.getByTestId('login-username').fill(user);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

// Resolves once `page` is online in `room`.
export function online(page, room = 'general') {
  return page.waitForFunction((r) => window.__chat.state === 'online' && window.__chat.room === r, room,
                              { timeout: kTimeout });
}

export async function say(page, text) {
  await page.getByTestId('message-input').fill(text);
  await page.getByTestId('message-input').press('Enter');
}

// Resolves once `page` shows a message with this author and text in `room`.
export function seen(page, room, from, message) {
  return page.waitForFunction(([r, f, m]) => window.__chat.messages(r).some((x) => x.from === f && x.message === m),
                              [room, from, message], { timeout: kTimeout });
}
