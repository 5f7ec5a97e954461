//! The stories, each in its own namespace. `exclusive` ones change what the others rely on
//! (the webhook being up, cluster-wide budgets) and run alone.

mod apply;
mod budget;
mod chart;
mod gitops;
mod harm;
mod poller;
mod registry;
mod scan;
mod seed;

use crate::Story;

pub fn all() -> Vec<Story> {
    let mut stories = Vec::new();
    stories.extend(seed::STORIES.iter().map(copy));
    stories.extend(harm::STORIES.iter().map(copy));
    stories.extend(apply::STORIES.iter().map(copy));
    stories.extend(scan::STORIES.iter().map(copy));
    stories.extend(chart::STORIES.iter().map(copy));
    stories.extend(gitops::STORIES.iter().map(copy));
    stories.extend(budget::STORIES.iter().map(copy));
    stories.extend(registry::STORIES.iter().map(copy));
    stories.extend(poller::STORIES.iter().map(copy));
    stories
}

fn copy(story: &Story) -> Story {
    Story {
        name: story.name,
        exclusive: story.exclusive,
        run: story.run,
    }
}
