// A real OpenID Connect provider on localhost for the single sign-on tests.
//
// Clients come as JSON in OIDC_CLIENTS. Anyone signs in with any password; the login name says
// who and what the ID token claims about their address:
//   "name@example.org"             email_verified: true
//   "unverified:name@example.org"  email_verified: false
//   "entra:name@example.org"       no email_verified, Entra's xms_edov: true
//   "entra-unverified:name@..."    no email_verified, xms_edov: false
// Prints "listening <port>" once it accepts connections.
import Provider from 'oidc-provider';

const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]');

function claimsOf(login) {
  const [kind, email] = login.includes(':') ? login.split(/:(.*)/s, 2) : ['verified', login];
  const claims = { sub: login, email, name: email.split('@')[0] };
  if (kind === 'verified') claims.email_verified = true;
  if (kind === 'unverified') claims.email_verified = false;
  if (kind === 'entra') claims.xms_edov = true;
  if (kind === 'entra-unverified') claims.xms_edov = false;
  return claims;
}

const server = (await import('node:http')).createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients,
    claims: { openid: ['sub'], email: ['email', 'email_verified', 'xms_edov'], profile: ['name'] },
    // Put the scopes' claims in the ID token, as Entra ID does.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => false },
    async findAccount(ctx, id) {
      return { accountId: id, async claims() { return claimsOf(id); } };
    },
    // The service is a first party: no consent screen.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });
  server.on('request', provider.callback());
  process.stdout.write(`listening ${port}\n`);
});
