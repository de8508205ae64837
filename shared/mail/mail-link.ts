/**
 * A link for a mail: PUBLIC_URL, the route of its GET page, and the token. Built only
 * from configuration, never from a request's Host or X-Forwarded-Host.
 */
export function mailLink(publicUrl: string, route: string, token: string): string {
  return `${publicUrl}${route}?token=${encodeURIComponent(token)}`;
}
