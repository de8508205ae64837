import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { errorHandler as bullBoardErrorHandler } from '@bull-board/api/dist/handlers/error.js';
import { KoaAdapter } from '@bull-board/koa';
import { QUEUE_NAMES } from '../../shared/queues/jobs.js';
import type { Queues } from '../../shared/queues/queues.js';
import type { Services } from '../../shared/services.js';
import type { AppMiddleware } from '../app-state.js';
import { DASHBOARD_PATH, SIGN_OUT_PATH } from './dashboard-paths.js';

/**
 * Bull Board's Koa app over every queue of the install. Loaded by queueDashboard on the
 * first dashboard request, not at start: Bull Board and its template engine are a tenth
 * of a second of a web process's start that most processes never need.
 */
export function bullBoard(queues: Queues, log: Services['log']): AppMiddleware {
  const serverAdapter = new KoaAdapter().setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: QUEUE_NAMES.map((name) => new BullMQAdapter(queues[name])),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: 'user-services',
        // The header's docs icon links to another site; a way out of the session is more use there.
        hideDocsLink: true,
        miscLinks: [{ text: 'Sign out', url: SIGN_OUT_PATH }],
      },
    },
  });
  // Bull Board answers its handlers' failures itself (a JSON error); its own faults (a
  // Redis outage among them) are logged here, since its mounted app reports them nowhere else.
  serverAdapter.setErrorHandler((error) => {
    const answer = bullBoardErrorHandler(error);
    if ((answer.status ?? 500) >= 500) log.error({ err: error }, 'queue dashboard request failed');
    return answer;
  });
  return serverAdapter.registerPlugin() as unknown as AppMiddleware;
}
