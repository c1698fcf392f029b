// The benchmark's queries, each as ozg-registry and PostGraphile ask it, with the variables a run
// cycles through and a normaliser that turns either answer into the same plain data.

const byKey = (k) => (a, b) => (JSON.stringify(a[k]) < JSON.stringify(b[k]) ? -1 : JSON.stringify(a[k]) > JSON.stringify(b[k]) ? 1 : 0);
const sorted = (xs, k) => [...xs].sort(byKey(k));

export const LANDS = ['DE-BB', 'DE-BE', 'DE-BW', 'DE-BY', 'DE-HB', 'DE-HE', 'DE-HH', 'DE-MV', 'DE-NI', 'DE-NW', 'DE-RP', 'DE-SH', 'DE-SL', 'DE-SN', 'DE-ST', 'DE-TH'];

export function queries(projects) {
  const slugs = Array.from({ length: Math.min(projects, 500) }, (_, i) => `gen-${1 + Math.floor((i * 7919) % projects)}`);
  return [
    {
      name: 'Q1 point lookup',
      variables: slugs.map((s) => ({ s })),
      ozg: 'query($s: String!) { project(slug: $s) { slug title phase leadLand { name } } }',
      peer: 'query($s: String!) { projectBySlug(slug: $s) { slug title phase landByLeadLandCode { name } } }',
      norm: {
        ozg: (d) => d.project && { slug: d.project.slug, title: d.project.title, phase: d.project.phase, lead: d.project.leadLand?.name ?? null },
        peer: (d) => d.projectBySlug && { slug: d.projectBySlug.slug, title: d.projectBySlug.title, phase: d.projectBySlug.phase, lead: d.projectBySlug.landByLeadLandCode?.name ?? null },
      },
    },
    {
      name: 'Q2 page of 20 + totalCount',
      variables: LANDS.map((l) => ({ l })),
      ozg: 'query($l: String!) { projects(first: 20, filter: {leadLand: $l}) { totalCount edges { node { slug title phase } } } }',
      peer: 'query($l: String!) { allProjects(first: 20, orderBy: [TITLE_ASC, ID_ASC], condition: {leadLandCode: $l}) { totalCount nodes { slug title phase } } }',
      norm: {
        ozg: (d) => ({ total: d.projects.totalCount, rows: d.projects.edges.map((e) => e.node) }),
        peer: (d) => ({ total: d.allProjects.totalCount, rows: d.allProjects.nodes }),
      },
    },
    {
      name: 'Q3 nested, 50 projects',
      variables: LANDS.map((l) => ({ l })),
      ozg: `query($l: String!) { projects(first: 50, filter: {leadLand: $l}) { edges { node {
        slug title phase leadLand { name } services { service { ozgId name } }
        participations { role organisation { name ags } } calls(open: true) { title } } } } }`,
      peer: `query($l: String!) { allProjects(first: 50, orderBy: [TITLE_ASC, ID_ASC], condition: {leadLandCode: $l}) { nodes {
        slug title phase landByLeadLandCode { name } projectServicesByProjectId { nodes { ozgServiceByOzgId { ozgId name } } }
        participationsByProjectId { nodes { role organisationByOrganisationId { name ags } } }
        callsByProjectId(condition: {status: "OPEN"}) { nodes { title } } } } }`,
      norm: {
        ozg: (d) => d.projects.edges.map(({ node: n }) => ({
          slug: n.slug, title: n.title, phase: n.phase, lead: n.leadLand?.name ?? null,
          services: sorted(n.services.map((s) => s.service), 'ozgId'),
          participations: sorted(n.participations.map((p) => ({ role: p.role, org: p.organisation.name, ags: p.organisation.ags })), 'ags'),
          calls: n.calls.map((c) => c.title).sort(),
        })),
        peer: (d) => d.allProjects.nodes.map((n) => ({
          slug: n.slug, title: n.title, phase: n.phase, lead: n.landByLeadLandCode?.name ?? null,
          services: sorted(n.projectServicesByProjectId.nodes.map((s) => s.ozgServiceByOzgId), 'ozgId'),
          participations: sorted(n.participationsByProjectId.nodes.map((p) => ({ role: p.role, org: p.organisationByOrganisationId.name, ags: p.organisationByOrganisationId.ags })), 'ags'),
          calls: n.callsByProjectId.nodes.map((c) => c.title).sort(),
        })),
      },
    },
    {
      name: 'Q4 write',
      write: true,
      // `__N__` becomes a fresh number in every request (wrk.lua), so every write adds a row.
      variables: slugs.slice(0, 100).map((s) => ({ s, t: 'Bench __N__' })),
      ozg: `mutation($s: String!, $t: String!) { addMilestone(input: {projectSlug: $s, title: $t, planned: "2027-Q1"}) {
        milestone { title planned } userErrors { code message } } }`,
      // PostGraphile has no slug in its create input; bench/run.mjs swaps `s` for the project's id.
      peer: `mutation($p: Int!, $t: String!) { createMilestone(input: {milestone: {projectId: $p, title: $t, planned: "2027-Q1"}}) {
        milestone { title planned } } }`,
      norm: {
        ozg: (d) => ({ ...d.addMilestone.milestone, errors: d.addMilestone.userErrors.length }),
        peer: (d) => ({ ...d.createMilestone.milestone, errors: 0 }),
      },
    },
  ];
}
