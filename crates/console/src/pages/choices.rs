//! What the selects of the forms offer (roles, organizations, one's projects): the first page of
//! the largest size the API allows, by name. Enough for the deployments a console serves; a
//! larger set would need a search field instead of a select.

use gatehouse_domain::{Direction, DomainError, PageRequest};

use crate::error::ConsoleError;
use crate::fields::Choice;

/// The first page, of the largest size, of a list ordered by `order` (a name), ascending.
pub fn by_name<O>(order: O) -> Result<PageRequest<O>, ConsoleError> {
    PageRequest::new(0, PageRequest::<O>::MAX_LIMIT, order, Direction::Asc)
        .map_err(|_| DomainError::unexpected("the choices' page is out of range").into())
}

/// The options of a select: `first` (value empty), then `items` (id, name), with `current`
/// selected. A current id beyond the listed ones is added, shown as its id, so that saving a
/// form never changes it silently to another.
pub fn options<'a>(
    first: Option<&str>,
    items: impl Iterator<Item = (i64, &'a str)>,
    current: &str,
) -> Vec<Choice> {
    let mut options: Vec<Choice> = first
        .map(|label| Choice::new("", label, current))
        .into_iter()
        .chain(items.map(|(id, name)| Choice::new(id.to_string(), name, current)))
        .collect();
    if !current.is_empty() && !options.iter().any(|option| option.selected) {
        options.push(Choice::new(current, current, current));
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_choice_is_selected_and_kept_even_beyond_the_listed_ones() {
        let listed = [(1, "Acme"), (2, "Globex")];
        let chosen = options(Some("None"), listed.into_iter(), "2");
        let selected: Vec<_> = chosen
            .iter()
            .filter(|c| c.selected)
            .map(|c| &c.label)
            .collect();
        assert_eq!(selected, ["Globex"]);
        assert_eq!(chosen.len(), 3);
        let beyond = options(None, listed.into_iter(), "7");
        assert_eq!(beyond.len(), 3);
        assert!(beyond[2].selected && beyond[2].value == "7");
        assert!(options(Some("All"), listed.into_iter(), "")[0].selected);
    }
}
