import type { DataSource } from 'typeorm';
import { defineModule } from '../../infra/module';
import type { RealtimeHub } from '../realtime';
import type { SegmentService } from '../segments';
import * as alertGraphql from './alert.graphql';
import { AlertService } from './alert.service';

interface AlertsDeps {
  dataSource: DataSource;
  /** Template segments, and which segments hold personal data. */
  segments: SegmentService;
  /** The alertFired subscription listens to the realtime fan-out. */
  realtime: RealtimeHub;
}

/**
 * Early-warning alerts: rules on segment entries and score changes, fired
 * from the outbox with a cool-down per customer; the internal feed (the
 * relationship manager's worklist), the alertFired subscription, and the
 * `alert.fired` event webhook endpoints subscribe to.
 */
export const alertsModule = defineModule({
  name: 'alerts',
  needs: ['dataSource', 'segments', 'realtime'],
  provides: ['alerts'],
  graphql: [alertGraphql],
  events: { publishes: ['alert.fired'], subscribes: ['segment.entered', 'score.changed'] },
  create({ dataSource, segments }: AlertsDeps) {
    return { alerts: new AlertService(dataSource, segments) };
  },
  // Through the outbox: an alert must survive a crash and fire once. The interest check keeps the many events no rule
  // watches (most score changes) away from a per-event transaction.
  subscriptions: [
    {
      delivery: 'outbox',
      event: 'segment.entered',
      consumer: 'alerts.segment-entered',
      create:
        ({ alerts }) =>
        (event, manager) =>
          alerts.onSegmentEntered(event, manager),
      interest: ({ alerts }) => {
        const interest = alerts.interest();
        return (event) => interest.wants(event);
      },
    },
    {
      delivery: 'outbox',
      event: 'score.changed',
      consumer: 'alerts.score-changed',
      create:
        ({ alerts }) =>
        (event, manager) =>
          alerts.onScoreChanged(event, manager),
      interest: ({ alerts }) => {
        const interest = alerts.interest();
        return (event) => interest.wants(event);
      },
    },
  ],
});
