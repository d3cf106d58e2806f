// A background job's own page: its progress panel.
"use strict";
Stagecraft.page("job-page", ({ root, $, jobPanel }) => {
  jobPanel($("job-panel"), Number(root.dataset.jobId));
});
