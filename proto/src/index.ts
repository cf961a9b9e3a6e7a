export * from './constants.js';
export * from './gen/ccfed/events/v1/meta.js';
export * from './gen/ccfed/events/v1/call_events.js';
export * from './gen/ccfed/events/v1/agent_events.js';
export * from './gen/ccfed/events/v1/site_snapshot.js';
export * from './gen/ccfed/events/v1/survey.js';
export * from './gen/ccfed/events/v1/crm_event.js';
export * as routing from './gen/ccfed/routing/v1/router.js';
export * as site from './gen/ccfed/site/v1/site_agent.js';
