// Starts GraphiQL on /graphiql against this server's /graphql (loaded by graphiql.html; no inline
// script, so the page's Content-Security-Policy can forbid inline scripts).
(function () {
  'use strict';
  var fetcher = GraphiQL.createFetcher({ url: window.location.origin + '/graphql' });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, { fetcher: fetcher, defaultEditorToolsVisibility: true }));
})();
